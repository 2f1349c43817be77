/* site_config_mqtt: read and check the mqtt = { ... } section of portier.conf (broker, TLS files, topics,
 * command roles) into site->mqtt, with line-numbered diagnostics. Internal to config/. */
#ifndef PORTIER_SITE_CONFIG_MQTT_H
#define PORTIER_SITE_CONFIG_MQTT_H

#include "config/conf_read.h"

void site_config_load_mqtt(struct conf_ctx *c, const config_setting_t *g, struct site *site);

#endif
