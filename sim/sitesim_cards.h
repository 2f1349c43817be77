/* sitesim_cards: write each slave's µSD card of a site's NiX1 bus (CONFIG.TXT with the configuration's units
 * and timeouts, keys, users and rights from the server files) so that every slave boots configured. */
#ifndef PORTIER_SITESIM_CARDS_H
#define PORTIER_SITESIM_CARDS_H

#include "core/site.h"

/* Write every slave's card into busdir/<ADDRESS>/ (nix1sim keeps a card as files there); generated files
 * left from an earlier run with other units are removed. 0, or -1 with a message on stderr. */
int sitesim_cards_prepare(const struct site_bus *b, const char *busdir);

#endif
