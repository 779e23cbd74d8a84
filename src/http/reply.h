/*
 * JSON envelope replies and the one table from ERR_* codes to HTTP status
 * and API error code. Success: {"success":true,"data":...,"meta":{...}};
 * failure: {"success":false,"error":{"code":"NOT_FOUND","message":"..."}}.
 */
#ifndef LEADFLOW_HTTP_REPLY_H
#define LEADFLOW_HTTP_REPLY_H

#include "base/json.h"
#include "http/http.h"

/* HTTP status for an error code (500 for anything unknown). */
int reply_status_for(int code);
/* API error code string for an error code ("VALIDATION_ERROR", ...). */
const char *reply_code_for(int code);

/*
 * Starts a success envelope with the given status: the caller then writes
 * exactly one JSON value (the data) with w and calls reply_ok_end().
 */
void reply_ok_begin(struct http_reply *rep, int status, struct jw *w);
/* Ends the envelope; meta, when not NULL, is a JSON object text. */
int reply_ok_end(struct http_reply *rep, struct jw *w);

/* Replaces rep's body with the error envelope for code and message. */
void reply_error(struct http_reply *rep, int code, const char *message);

#endif
