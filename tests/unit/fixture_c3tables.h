/* fixture_c3tables: the table structure a C3 panel of the new layout describes (its users, access rights,
 * holidays and time zones), as the C3 unit tests and fuzz targets of the user data feed it to c3_tables. */
#ifndef PORTIER_TESTS_FIXTURE_C3TABLES_H
#define PORTIER_TESTS_FIXTURE_C3TABLES_H

/* The user, userauthorize, holiday and timezone lines of the panel's table structure text, in that order. */
#define FX_C3_STRUCTURE_USERDATA                                                                                   \
    "user=1,UID=i1,CardNo=i2,Pin=i3,Password=s4,Group=i5,StartTime=i6,EndTime=i7,Name=s8,SuperAuthorize=i9\n"     \
    "userauthorize=2,Pin=i1,AuthorizeTimezoneId=i2,AuthorizeDoorId=i3\n"                                           \
    "holiday=3,Holiday=i1,HolidayType=i2,Loop=i3\n"                                                                \
    "timezone=4,TimezoneId=i1,SunTime1=i2,MonTime1=i3,TueTime1=i4,WedTime1=i5,ThuTime1=i6,FriTime1=i7,SatTime1=i8," \
    "Hol1Time1=i9,Hol2Time1=i10,Hol3Time1=i11,SunTime2=i12,MonTime2=i13,TueTime2=i14,WedTime2=i15,ThuTime2=i16,"   \
    "FriTime2=i17,SatTime2=i18,Hol1Time2=i19,Hol2Time2=i20,Hol3Time2=i21,SunTime3=i22,MonTime3=i23,TueTime3=i24,"  \
    "WedTime3=i25,ThuTime3=i26,FriTime3=i27,SatTime3=i28,Hol1Time3=i29,Hol2Time3=i30,Hol3Time3=i31\n"

#endif
