/*
 * leadflow version: prints the release.
 */
#include <stdio.h>

#include "cmd/cmd.h"
#include "version.h"

int cmd_version(int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "leadflow version: unexpected argument \"%s\"\n", argv[1]);
        return EXIT_USAGE;
    }
    printf("leadflow %s\n", LEADFLOW_VERSION);
    return 0;
}
