/*
 * GET /ws: the dashboard's live events over WebSocket (RFC 6455). The
 * router's guard has authenticated the caller (the session cookie; or an API
 * token, for scripts); this checks the handshake and the Origin, subscribes
 * the connection to every workspace its user belongs to (a token: its one
 * workspace) and answers 101. The HTTP server then hands the socket to the
 * hub (ws/hub.h), which sends the events.
 */
#include "api/api.h"
#include "auth/auth.h"
#include "store/auth.h"
#include "ws/handshake.h"
#include "ws/hub.h"

static int ws_get(struct http_req *req, struct http_reply *rep, struct errinfo *e)
{
    const struct api_ctx *ctx = req->ctx;
    if (req->method != HTTP_GET)
        return failf(e, ERR_INVALID, "open the WebSocket with GET");
    struct ws_handshake hs = {
        .upgrade = http_req_header(req, "Upgrade"),
        .connection = http_req_header(req, "Connection"),
        .version = http_req_header(req, "Sec-WebSocket-Version"),
        .key = http_req_header(req, "Sec-WebSocket-Key"),
        .origin = http_req_header(req, "Origin"),
        .host = http_req_header(req, "Host"),
    };
    char *accept = arena_alloc(req->arena, WS_ACCEPT_LEN);
    int rc = ws_handshake_check(&hs, ctx->cfg->public_url, accept, e);
    if (rc == ERR_INVALID)
        http_reply_header(rep, "Sec-WebSocket-Version", "13"); /* the one we speak (§4.4) */
    if (rc)
        return rc;
    if (!ctx->hub)
        return failf(e, ERR_TEMPORARY, "live events are not available from this server");

    const struct auth_info *who = req->auth;
    const char **ids;
    size_t n = 0;
    if (who->via_token) {
        /* A token speaks for its one workspace, while its user is a member. */
        int role;
        rc = store_member_role(ctx->store, who->token_workspace, who->user_id, &role, e);
        if (rc == ERR_NOT_FOUND)
            return failf(e, ERR_NOT_FOUND, "workspace not found");
        if (rc)
            return rc;
        ids = arena_alloc(req->arena, sizeof(*ids));
        ids[n++] = who->token_workspace;
    } else {
        struct ws_row *rows;
        size_t nrows;
        rc = store_user_workspaces(ctx->store, who->user_id, req->arena, &rows, &nrows, e);
        if (rc)
            return rc;
        ids = arena_alloc(req->arena, (nrows ? nrows : 1) * sizeof(*ids));
        for (size_t i = 0; i < nrows; i++)
            ids[n++] = rows[i].id;
    }
    struct hub_pending *p = hub_pending_new(ctx->hub, who->user_id, ids, n, e);
    if (!p)
        return ERR_TEMPORARY;
    rep->status = 101;
    http_reply_header(rep, "Upgrade", "websocket");
    http_reply_header(rep, "Sec-WebSocket-Accept", accept);
    rep->upgrade = (struct http_upgrade){hub_adopt, hub_pending_drop, p};
    return 0;
}

const struct route api_ws_routes[] = {
    {HTTP_GET, "/ws", ROUTE_AUTH | ROUTE_NOBODY, ws_get},
};

const size_t api_ws_nroutes = sizeof(api_ws_routes) / sizeof(api_ws_routes[0]);
