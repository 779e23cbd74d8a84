/*
 * The release version, set by the Makefile from the VERSION file.
 */
#ifndef LEADFLOW_VERSION_H
#define LEADFLOW_VERSION_H

#ifndef LEADFLOW_VERSION
#define LEADFLOW_VERSION "0.0.0-dev"
#endif

#endif
