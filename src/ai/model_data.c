/*
 * The analyzer model and the valence lexicon, embedded into the binary at
 * build time (data/model/, see data/model/README.md), so that the server
 * needs neither the working directory nor the network to find them. Each is
 * followed by a NUL byte, so that it can be read as a string too.
 */
#include "ai/model.h"

__asm__(".section .rodata\n"
        ".balign 16\n"
        ".globl model_analyzer_start\n"
        ".hidden model_analyzer_start\n"
        "model_analyzer_start:\n"
        ".incbin \"data/model/analyzer.model\"\n"
        ".globl model_analyzer_end\n"
        ".hidden model_analyzer_end\n"
        "model_analyzer_end:\n"
        ".byte 0\n"
        ".balign 16\n"
        ".globl model_valence_start\n"
        ".hidden model_valence_start\n"
        "model_valence_start:\n"
        ".incbin \"data/model/valence.tsv\"\n"
        ".globl model_valence_end\n"
        ".hidden model_valence_end\n"
        "model_valence_end:\n"
        ".byte 0\n"
        ".previous\n");

extern const char model_analyzer_start[], model_analyzer_end[];
extern const char model_valence_start[], model_valence_end[];

const char *model_embedded_text(size_t *len)
{
    *len = (size_t)(model_analyzer_end - model_analyzer_start);
    return model_analyzer_start;
}

const char *model_embedded_valence(size_t *len)
{
    *len = (size_t)(model_valence_end - model_valence_start);
    return model_valence_start;
}
