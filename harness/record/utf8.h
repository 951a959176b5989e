/*
 * utf8.h - kept for its includers: UTF-8 is read with fakeresolver/json.h
 * (utf8_next, utf8_valid, utf8_encode), the one validator the query log,
 * the history writer and reader, and the reports share.
 */
#ifndef HARNESS_RECORD_UTF8_H
#define HARNESS_RECORD_UTF8_H

#include "fakeresolver/json.h"

#endif
