/*
 * What a subject line is (ai/ai.h): a reply's or a forward's ("Re:", "AW:",
 * "SV:", "Fwd:", "WG:", "Odp:"...), an automatic reply's ("Automatic reply:",
 * "Out of Office:", "Abwesenheitsnotiz:", "Réponse automatique :"...), or
 * the sender's own.
 */
#include <stdbool.h>
#include <string.h>

#include "ai/ai.h"

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool starts_nocase(const char *s, const char *p)
{
    for (; *p; s++, p++)
        if (lower(*s) != lower(*p))
            return false;
    return true;
}

static const char *skip_blanks(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* "[EXTERNAL] " and other bracketed tags a gateway puts first. */
static const char *skip_tags(const char *s)
{
    for (;;) {
        s = skip_blanks(s);
        if (*s != '[')
            return s;
        const char *e = strchr(s, ']');
        if (!e || e - s > 40)
            return s;
        s = e + 1;
    }
}

/* The length of a reply or forward prefix at s ("Re:", "RE[2]:", "SV :"), or 0. */
static size_t reply_prefix(const char *s)
{
    static const char *const words[] = {"re",  "aw",  "antw", "antwort", "sv",  "vs", "r",   "rif",
                                        "réf", "ref", "rv",   "odp",     "fwd", "fw", "wg",  "tr",
                                        "enc", "i",   "vb",   "doorst",  "pd",  "fs", "res", NULL};
    size_t n = 0;
    while (s[n] && s[n] != ':' && s[n] != ' ' && s[n] != '[' && s[n] != '(' && n < 8)
        n++;
    if (n == 0)
        return 0;
    bool known = false;
    for (const char *const *w = words; *w && !known; w++)
        known = strlen(*w) == n && starts_nocase(s, *w);
    if (!known)
        return 0;
    size_t i = n;
    if (s[i] == '[' || s[i] == '(') { /* a count: "Re[2]:" */
        char close = s[i] == '[' ? ']' : ')';
        i++;
        while (s[i] >= '0' && s[i] <= '9')
            i++;
        if (s[i] != close)
            return 0;
        i++;
    }
    while (s[i] == ' ')
        i++;
    return s[i] == ':' ? i + 1 : 0;
}

int ai_subject_kind(const char *subject)
{
    static const char *const automatic[] = {"automatic reply",
                                            "auto-reply",
                                            "autoreply",
                                            "auto reply",
                                            "auto response",
                                            "out of office",
                                            "out of the office",
                                            "abwesenheitsnotiz",
                                            "abwesend",
                                            "automatische antwort",
                                            "réponse automatique",
                                            "absence du bureau",
                                            "absent du bureau",
                                            "respuesta automática",
                                            "fuera de la oficina",
                                            "resposta automática",
                                            "ausente do escritório",
                                            "fora do escritório",
                                            "risposta automatica",
                                            "fuori sede",
                                            "fuori ufficio",
                                            "automatisch antwoord",
                                            "afwezig",
                                            "automatiskt svar",
                                            "frånvarande",
                                            "automatisk svar",
                                            "autosvar",
                                            "fraværende",
                                            "ikke til stede",
                                            "automatyczna odpowiedź",
                                            "poza biurem",
                                            "nieobecność",
                                            NULL};
    if (!subject)
        return SUBJECT_NEW;
    const char *s = skip_tags(subject);
    char c = lower(*s);
    for (const char *const *a = automatic; *a; a++)
        if (**a == c && starts_nocase(s, *a))
            return SUBJECT_AUTO;
    return reply_prefix(s) ? SUBJECT_REPLY : SUBJECT_NEW;
}
