/*
 * leadflow routes: prints the HTTP route table, one route a line
 * (METHOD PATTERN FLAGS), for operators and for tests generated from it.
 */
#include <stdio.h>

#include "api/api.h"
#include "cmd/cmd.h"
#include "http/router.h"

int cmd_routes(int argc, char **argv)
{
    struct cmd_opts o;
    int rc = cmd_parse_opts("routes", argc, argv, "", 0, &o);
    if (rc)
        return rc;
    if (o.help) {
        fputs("usage: leadflow routes\n\nPrints every API route: METHOD PATTERN FLAGS, where "
              "FLAGS lists\npublic, auth, workspace, write, json as they apply.\n",
              stdout);
        return 0;
    }
    struct router *rt = router_new();
    api_register(rt);
    for (size_t i = 0; i < router_count(rt); i++) {
        const struct route *r = router_route(rt, i);
        char methods[80];
        router_allow_string(r->methods, methods, sizeof(methods));
        /* HEAD is implied by GET; print the methods a route was declared with. */
        printf("%s\t%s\t%s%s%s%s%s\n", r->methods & HTTP_GET ? "GET" : methods, r->pattern,
               r->flags & (ROUTE_AUTH | ROUTE_WORKSPACE | ROUTE_WRITE) ? "auth" : "public",
               r->flags & ROUTE_WORKSPACE ? ",workspace" : "",
               r->flags & ROUTE_WRITE ? ",write" : "", r->flags & ROUTE_JSON ? ",json" : "",
               r->flags & ROUTE_TEXT ? ",text" : "");
    }
    router_free(rt);
    return 0;
}
