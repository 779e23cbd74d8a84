/*
 * The offline email analyzer (DESIGN.md §6): intents, sentiment and urgency
 * from word and phrase lists, in one pass over the case-folded words of the
 * subject and the new text. Deterministic, thread-safe and allocation-free:
 * the only state is a lookup index built once (pthread_once) from the static
 * lexicon. Also the names of the labels and the "offline" provider.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "ai/ai.h"
#include "ai/model.h"

/* Intent slots in the order of the enum intent bits. */
enum { I_MEET, I_QUES, I_COMP, I_FEAT, I_PRICE, I_GEN, I_FOLLOW };

/* What a lexicon entry does besides its weights. */
enum {
    L_NEG = 1 << 0,   /* negator: dampens and flips what follows within NEG_WINDOW words */
    L_INT = 1 << 1,   /* intensifier: scales the next sentiment entry */
    L_OPEN = 1 << 2,  /* interrogative opener, when it starts a sentence */
    L_REQ = 1 << 3,   /* a request ("could you", "let's"): with a meeting noun, a meeting */
    L_MNOUN = 1 << 4, /* a meeting noun (call, demo, coffee) */
    L_PAST = 1 << 5,  /* refers to a meeting that already happened */
    L_TIME = 1 << 6,  /* a day or time of day */
    L_WH = 1 << 7,    /* a question word inside a sentence ("why", "whether") */
    L_ASK = 1 << 8,   /* asks without a question mark ("I was wondering") */
    L_NOQ = 1 << 9,   /* a question that only asks for what was named ("send it over?") */
    L_HYPO = 1 << 10, /* hypothetical: dampens the sentiment that follows ("would be") */
};

struct lex {
    const char *text; /* one to four lower-case words separated by single spaces */
    signed char meet, ques, comp, feat, price, follow;
    signed char sent;  /* sentiment weight, tenths */
    unsigned char urg; /* 1: weak, 2: medium, 3: high */
    unsigned short flags;
};

#define W(t, m, q, c, f, p, fu)                                                                    \
    {                                                                                              \
        t, m, q, c, f, p, fu, 0, 0, 0                                                              \
    }
#define S(t, s)                                                                                    \
    {                                                                                              \
        t, 0, 0, 0, 0, 0, 0, s, 0, 0                                                               \
    }
#define SC(t, s, c)                                                                                \
    {                                                                                              \
        t, 0, 0, c, 0, 0, 0, s, 0, 0                                                               \
    }
#define U(t, u)                                                                                    \
    {                                                                                              \
        t, 0, 0, 0, 0, 0, 0, 0, u, 0                                                               \
    }
#define F(t, fl)                                                                                   \
    {                                                                                              \
        t, 0, 0, 0, 0, 0, 0, 0, 0, fl                                                              \
    }
#define FS(t, fl, s)                                                                               \
    {                                                                                              \
        t, 0, 0, 0, 0, 0, 0, s, 0, fl                                                              \
    }

/*
 * The lexicon: what an analyst would list for each label. Intent weights
 * are summed per email (an intent needs 2); sentiment weights are in tenths
 * and summed with negation and intensifiers. When several entries end at
 * the same word, only the longest counts.
 */
static const struct lex lexicon[] = {
    /* Negators and intensifiers. */
    F("not", L_NEG),
    F("no", L_NEG),
    F("never", L_NEG),
    F("don't", L_NEG),
    F("dont", L_NEG),
    F("doesn't", L_NEG),
    F("didn't", L_NEG),
    F("isn't", L_NEG),
    F("aren't", L_NEG),
    F("wasn't", L_NEG),
    F("weren't", L_NEG),
    F("won't", L_NEG),
    F("can't", L_NEG),
    F("cannot", L_NEG),
    F("couldn't", L_NEG),
    F("haven't", L_NEG),
    F("hasn't", L_NEG),
    F("without", L_NEG),
    F("nothing", L_NEG),
    F("nobody", L_NEG),
    F("neither", L_NEG),
    F("hardly", L_NEG),
    F("very", L_INT),
    F("extremely", L_INT),
    F("really", L_INT),
    F("so", L_INT),
    F("super", L_INT),
    F("absolutely", L_INT),
    F("incredibly", L_INT),
    F("totally", L_INT),
    F("truly", L_INT),
    F("highly", L_INT),
    F("quite", L_INT),
    F("seriously", L_INT),
    F("completely", L_INT),
    F("deeply", L_INT),
    F("most", L_INT),

    /* Sentence openers that make a question. */
    F("what", L_OPEN),
    F("how", L_OPEN),
    F("where", L_OPEN),
    F("when", L_OPEN),
    F("why", L_OPEN | L_WH),
    F("which", L_OPEN | L_WH),
    F("who", L_OPEN),
    F("is", L_OPEN),
    F("are", L_OPEN),
    F("do", L_OPEN),
    F("does", L_OPEN),
    F("did", L_OPEN),
    F("can", L_OPEN),
    F("could", L_OPEN),
    F("will", L_OPEN),
    F("would", L_OPEN),
    F("should", L_OPEN),
    F("have", L_OPEN),
    F("has", L_OPEN),
    F("whether", L_WH),

    /* Questions asked without a question mark, or asked for. */
    F("wondering", L_ASK),
    F("want to know", L_ASK),
    F("like to know", L_ASK),
    F("could you tell", L_ASK),
    F("can you tell", L_ASK),
    F("could you confirm", L_ASK),
    F("can you confirm", L_ASK),
    F("please confirm whether", L_ASK),
    F("could you explain", L_ASK),
    W("quick question", 0, 2, 0, 0, 0, 0),
    W("one question", 0, 2, 0, 0, 0, 0),
    W("a question", 0, 2, 0, 0, 0, 0),
    W("questions", 0, 1, 0, 0, 0, 0),
    W("quick q", 0, 2, 0, 0, 0, 0),
    F("send it", L_NOQ),
    F("send both", L_NOQ),
    F("send them", L_NOQ),
    F("send it over", L_NOQ),
    F("send that", L_NOQ),
    F("would be", L_HYPO),
    F("if", L_HYPO | L_WH),
    F("would make", L_HYPO),
    F("it'd be", L_HYPO),
    W("what is going on", 0, -3, 2, 0, 0, 0),
    W("what happened", 0, -1, 1, 0, 0, 0),

    /* Meetings. */
    F("call", L_MNOUN),
    F("calls", L_MNOUN),
    F("meeting", L_MNOUN),
    F("meet", L_MNOUN),
    F("demo", L_MNOUN),
    F("chat", L_MNOUN),
    F("coffee", L_MNOUN),
    F("lunch", L_MNOUN),
    F("session", L_MNOUN),
    F("workshop", L_MNOUN),
    F("visit", L_MNOUN),
    F("talk", L_MNOUN),
    F("speak", L_MNOUN),
    F("catch up", L_MNOUN),
    F("deep dive", L_MNOUN),
    F("presentation", L_MNOUN),
    F("present", L_MNOUN),
    F("kickoff", L_MNOUN),
    F("business review", L_MNOUN),
    F("training", L_MNOUN),
    F("video call", L_MNOUN),
    F("minutes", L_MNOUN),
    F("conversation", L_MNOUN),
    W("schedule a call", 3, 0, 0, 0, 0, 0),
    W("schedule a meeting", 3, 0, 0, 0, 0, 0),
    W("schedule a demo", 3, 0, 0, 0, 0, 0),
    W("schedule a time", 3, 0, 0, 0, 0, 0),
    W("schedule the", 3, 0, 0, 0, 0, 0),
    W("schedule that", 3, 0, 0, 0, 0, 0),
    W("possible dates", 2, 0, 0, 0, 0, 0),
    W("some dates", 2, 0, 0, 0, 0, 0),
    W("few dates", 2, 0, 0, 0, 0, 0),
    W("few slots", 2, 0, 0, 0, 0, 0),
    W("follow up call", 2, 0, 0, 0, 0, -3),
    W("follow up session", 2, 0, 0, 0, 0, -3),
    W("follow up meeting", 2, 0, 0, 0, 0, -3),
    W("schedule another", 3, 0, 0, 0, 0, 0),
    W("reschedule", 3, 0, 0, 0, 0, 0),
    W("book a", 2, 0, 0, 0, 0, 0),
    W("book a demo", 3, 0, 0, 0, 0, 0),
    W("request a demo", 3, 0, 0, 0, 0, 0),
    W("set up a call", 3, 0, 0, 0, 0, 0),
    W("set up a meeting", 3, 0, 0, 0, 0, 0),
    W("set up another", 3, 0, 0, 0, 0, 0),
    W("jump on a call", 3, 0, 0, 0, 0, 0),
    W("hop on a call", 3, 0, 0, 0, 0, 0),
    W("arrange a", 3, 0, 0, 0, 0, 0),
    W("organize a", 2, 0, 0, 0, 0, 0),
    W("let's meet", 3, 0, 0, 0, 0, 0),
    W("let's talk", 3, 0, 0, 0, 0, 0),
    W("move our call", 3, 0, 0, 0, 0, 0),
    W("move our meeting", 3, 0, 0, 0, 0, 0),
    W("send an invite", 3, 0, 0, 0, 0, 0),
    W("calendar invite", 2, 0, 0, 0, 0, 0),
    W("works for me", 2, 0, 0, 0, 0, 0),
    W("work for me", 2, 0, 0, 0, 0, 0),
    W("work for you", 3, 0, 0, 0, 0, 0),
    W("works for you", 3, 0, 0, 0, 0, 0),
    W("suits you", 2, 0, 0, 0, 0, 0),
    W("suit you", 2, 0, 0, 0, 0, 0),
    W("are you free", 3, 0, 0, 0, 0, 0),
    W("are you available", 3, 0, 0, 0, 0, 0),
    W("be available", 2, 0, 0, 0, 0, 0),
    W("availability", 2, 0, 0, 0, 0, 0),
    W("your availability", 3, 0, 0, 0, 0, 0),
    W("slots", 2, 0, 0, 0, 0, 0),
    W("convenient", 1, 0, 0, 0, 0, 0),
    W("see you then", 2, 0, 0, 0, 0, 0),
    W("confirmed for", 0, 0, 0, 0, 0, 0),

    /* Requests: with a meeting noun in the same sentence they make a meeting request. */
    F("could we", L_REQ),
    F("can we", L_REQ),
    F("shall we", L_REQ),
    F("should we", L_REQ),
    F("let's", L_REQ),
    F("lets", L_REQ),
    F("would you", L_REQ),
    F("could you", L_REQ),
    F("can you", L_REQ),
    F("would like", L_REQ),
    F("i'd like", L_REQ),
    F("we'd like", L_REQ),
    FS("i'd love", L_REQ, 6),
    FS("would love", L_REQ, 6),
    F("love to", L_REQ),
    F("want to", L_REQ),
    FS("happy to", L_REQ, 6),
    FS("glad to", L_REQ, 6),
    F("please", L_REQ),
    F("do you have", L_REQ),
    F("have time", L_REQ),
    F("when could", L_REQ),
    F("when would", L_REQ),
    FS("pleased to", L_REQ, 6),
    FS("delighted", L_REQ, 12),
    F("absolutely", L_REQ),
    F("yes", L_REQ),
    F("is there", L_REQ),
    F("free for", L_REQ),
    F("free on", L_REQ),
    F("free next", L_REQ),
    F("to meet", L_REQ),
    F("to discuss", L_REQ),
    F("could", L_REQ),
    F("sounds great", L_REQ),

    /* A meeting that already happened. */
    F("thanks for the", L_PAST),
    F("thank you for the", L_PAST),
    F("our call", L_PAST),
    F("our conversation", L_PAST),
    F("our meeting", L_PAST),
    F("the call", L_PAST),
    F("the meeting", L_PAST),
    F("the demo", L_PAST),
    FS("great meeting", L_PAST, 8),
    FS("nice meeting", L_PAST, 6),
    FS("great call", L_PAST, 8),
    F("today's meeting", L_PAST),
    F("yesterday's", L_PAST),
    F("during the", L_PAST),
    F("from our", L_PAST),
    F("after our", L_PAST),
    F("was great", L_PAST),
    F("was a pleasure", L_PAST),
    F("the webinar", L_PAST),
    F("the workshop", L_PAST),
    F("the session", L_PAST),
    F("call center", L_PAST),
    F("client calls", L_PAST),
    F("client meeting", L_PAST),
    F("board meeting", L_PAST),
    F("budget meeting", L_PAST),
    F("our session", L_PAST),
    F("meetings", L_PAST),
    F("meeting you", L_PAST),
    F("standups", L_PAST),

    /* Days and times. */
    F("monday", L_TIME),
    F("tuesday", L_TIME),
    F("wednesday", L_TIME),
    F("thursday", L_TIME),
    F("friday", L_TIME),
    F("next week", L_TIME),
    F("this week", L_TIME),
    F("tomorrow", L_TIME),
    F("am", L_TIME),
    F("pm", L_TIME),
    F("morning", L_TIME),
    F("afternoon", L_TIME),
    F("afternoons", L_TIME),
    F("next month", L_TIME),
    F("in the coming", L_TIME),
    F("sometime", L_TIME),

    /* Pricing. */
    W("price", 0, 0, 0, 0, 3, 0),
    W("prices", 0, 0, 0, 0, 3, 0),
    W("pricing", 0, 0, 0, 0, 3, 0),
    W("cost", 0, 0, 0, 0, 3, 0),
    W("costs", 0, 0, 0, 0, 3, 0),
    W("quote", 0, 0, 0, 0, 3, 0),
    W("quotation", 0, 0, 0, 0, 3, 0),
    W("discount", 0, 0, 0, 0, 3, 0),
    W("discounts", 0, 0, 0, 0, 3, 0),
    W("how much", 0, 0, 0, 0, 3, 0),
    W("what do you charge", 0, 0, 0, 0, 3, 0),
    W("fee", 0, 0, 0, 0, 2, 0),
    W("fees", 0, 0, 0, 0, 2, 0),
    W("per user", 0, 0, 0, 0, 1, 0),
    W("per seat", 0, 0, 0, 0, 1, 0),
    W("licenses", 0, 0, 0, 0, 1, 0),
    W("licences", 0, 0, 0, 0, 1, 0),
    W("license", 0, 0, 0, 0, 1, 0),
    W("margins", 0, 0, 0, 0, 2, 0),
    W("free trial", 0, 0, 0, 0, 2, 0),
    W("free plan", 0, 0, 0, 0, 2, 0),
    W("extra cost", 0, 0, 0, 0, 2, 0),
    W("at no extra cost", 0, 0, 0, 0, 2, 0),
    W("monthly billing", 0, 0, 0, 0, 2, 0),
    W("annual plan", 0, 0, 0, 0, 1, 0),
    W("upfront", 0, 0, 0, 0, 2, 0),
    W("budget", 0, 0, 0, 0, 1, 0),
    W("expensive", 0, 0, 0, 0, 2, 0),
    W("charge", 0, 0, 0, 0, 1, 0),
    W("pro rata", 0, 0, 0, 0, 1, 0),
    W("pay by", 0, 0, 0, 0, 1, 0),
    W("payment through", 0, 0, 0, 0, 1, 0),
    W("billed", 0, 0, 0, 0, 1, 0),
    W("renewal price", 0, 0, 0, 0, 3, 0),

    /* Feature requests. */
    W("feature request", 0, 0, 0, 3, 0, 0),
    W("feature", 0, 0, 0, 1, 0, 0),
    W("please add", 0, 0, 0, 3, 0, 0),
    W("could you add", 0, 0, 0, 3, 0, 0),
    W("can you add", 0, 0, 0, 3, 0, 0),
    W("could add", 0, 0, 0, 3, 0, 0),
    W("you add", 0, 0, 0, 2, 0, 0),
    W("to add", 0, 0, 0, 1, 0, 0),
    W("adding", 0, 0, 0, 2, 0, 0),
    W("add a", 0, 0, 0, 1, 0, 0),
    W("add an", 0, 0, 0, 1, 0, 0),
    W("add it", 0, 0, 0, 2, 0, 0),
    W("add this", 0, 0, 0, 2, 0, 0),
    W("add that", 0, 0, 0, 2, 0, 0),
    W("be added", 0, 0, 0, 3, 0, 0),
    W("roadmap", 0, 0, 0, 3, 0, 0),
    W("would be great if", 0, 0, 0, 3, 0, 0),
    W("would be nice", 0, 0, 0, 2, 0, 0),
    W("would be helpful", 0, 0, 0, 2, 0, 0),
    W("would be useful", 0, 0, 0, 2, 0, 0),
    W("would be good", 0, 0, 0, 2, 0, 0),
    W("would be wonderful", 0, 0, 0, 2, 0, 0),
    W("would be even better", 0, 0, 0, 2, 0, 0),
    W("be good to have", 0, 0, 0, 2, 0, 0),
    W("wonderful to have", 0, 0, 0, 2, 0, 0),
    W("suggestion", 0, 0, 0, 2, 0, 0),
    W("idea", 0, 0, 0, 2, 0, 0),
    W("wish", 0, 0, 0, 2, 0, 0),
    W("wish you", 0, 0, 0, -2, 0, 0),
    W("improvement", 0, 0, 0, 1, 0, 0),
    W("be possible to", 0, 0, 0, 2, 0, 0),
    W("tiny request", 0, 0, 0, 3, 0, 0),
    W("small request", 0, 0, 0, 3, 0, 0),
    W("one request", 0, 0, 0, 3, 0, 0),
    W("we need", 0, 0, 0, 1, 0, 0),
    W("really need", 0, 0, 0, 2, 0, 0),
    W("would need", 0, 0, 0, 1, 0, 0),
    W("is planned", 0, 0, 0, 2, 0, 0),
    W("any plan", 0, 0, 0, 2, 0, 0),
    W("any plans", 0, 0, 0, 2, 0, 0),
    W("plans to", 0, 0, 0, 1, 0, 0),
    W("could build", 0, 0, 0, 3, 0, 0),
    W("to build", 0, 0, 0, 1, 0, 0),
    W("make possible", 0, 0, 0, 3, 0, 0),
    W("would love to be able", 0, 0, 0, 3, 0, 0),
    W("be able to", 0, 0, 0, 1, 0, 0),
    W("still missing", 0, 0, 0, 2, 0, 0),
    W("is missing", 0, 0, 0, 1, 0, 0),
    W("still no way", 0, 0, 0, 2, 0, 0),
    W("no way to", 0, 0, 0, 2, 0, 0),
    W("integration", 0, 0, 0, 1, 0, 0),
    W("support for", 0, 0, 0, 1, 0, 0),
    {"it would be", 0, 0, 0, 1, 0, 0, 0, 0, L_HYPO},
    W("consider", 0, 0, 0, 1, 0, 0),
    W("coming soon", 0, 0, 0, 2, 0, 0),

    /* Follow-ups. */
    W("following up", 0, 0, 0, 0, 0, 3),
    W("follow up", 0, 0, 0, 0, 0, 3),
    W("follow up on", 0, 0, 0, 0, 0, 3),
    W("circling back", 0, 0, 0, 0, 0, 3),
    W("circle back", 0, 0, 0, 0, 0, 3),
    W("checking in", 0, 0, 0, 0, 0, 3),
    W("touching base", 0, 0, 0, 0, 0, 3),
    W("touch base", 0, 0, 0, 0, 0, 3),
    W("any update", 0, 0, 0, 0, 0, 3),
    W("any updates", 0, 0, 0, 0, 0, 3),
    W("any news", 0, 0, 0, 0, 0, 3),
    W("an update", 0, 0, 0, 0, 0, 2),
    W("as discussed", 0, 0, 0, 0, 0, 3),
    W("as promised", 0, 0, 0, 0, 0, 3),
    W("as agreed", 0, 0, 0, 0, 0, 3),
    W("per our call", 0, 0, 0, 0, 0, 3),
    W("per our conversation", 0, 0, 0, 0, 0, 3),
    W("per our discussion", 0, 0, 0, 0, 0, 3),
    W("per our meeting", 0, 0, 0, 0, 0, 3),
    W("any thoughts", 0, 0, 0, 0, 0, 2),
    W("haven't heard back", 0, 0, 0, 0, 0, 3),
    W("heard back", 0, 0, 0, 0, 0, 2),
    W("reminder", 0, 0, 0, 0, 0, 3),
    W("bumping", 0, 0, 0, 0, 0, 3),
    W("had a chance", 0, 0, 0, 0, 0, 2),
    W("get a chance", 0, 0, 0, 0, 0, 2),
    W("have a chance", 0, 0, 0, 0, 0, 2),
    W("the opportunity to", 0, 0, 0, 0, 0, 1),
    W("my previous email", 0, 0, 0, 0, 0, 3),
    W("my email from", 0, 0, 0, 0, 0, 3),
    W("my note from", 0, 0, 0, 0, 0, 3),
    W("my last email", 0, 0, 0, 0, 0, 3),
    W("emails about", 0, 0, 0, 0, 0, 2),
    W("email about", 0, 0, 0, 0, 0, 1),
    W("again", 0, 0, 0, 0, 0, 1),
    W("still waiting", 0, 0, 0, 0, 0, 2),
    W("still haven't", 0, 0, 0, 0, 0, 1),
    W("thanks again", 0, 0, 0, 0, 0, 3),
    W("thanks for your time", 0, 0, 0, 0, 0, 2),
    W("thanks for the call", 0, 0, 0, 0, 0, 3),
    W("thanks for the great call", 0, 0, 0, 0, 0, 3),
    W("thank you for your time", 0, 0, 0, 0, 0, 2),
    W("great meeting", 0, 0, 0, 0, 0, 2),
    W("from our call", 0, 0, 0, 0, 0, 2),
    W("on our call", 0, 0, 0, 0, 0, 2),
    W("after our call", 0, 0, 0, 0, 0, 2),
    W("since our call", 0, 0, 0, 0, 0, 2),
    W("our conversation", 0, 0, 0, 0, 0, 2),
    W("our chat", 0, 0, 0, 0, 0, 2),
    W("our meeting", 0, 0, 0, 0, 0, 2),
    W("next steps", 0, 0, 0, 0, 0, 2),
    W("we sent", 0, 0, 0, 0, 0, 1),
    W("i sent", 0, 0, 0, 0, 0, 2),
    W("last week", 0, 0, 0, 0, 0, 1),
    W("i asked", 0, 0, 0, 0, 0, 1),
    W("was told", 0, 0, 0, 0, 0, 1),

    /* Complaints and problems (also negative). */
    SC("disappointed", -15, 2),
    SC("disappointing", -15, 2),
    SC("frustrating", -15, 2),
    SC("frustrated", -15, 2),
    SC("annoying", -10, 2),
    SC("annoyed", -10, 2),
    SC("unhappy", -15, 2),
    SC("not happy", -15, 3),
    SC("not satisfied", -15, 3),
    SC("not impressed", -15, 3),
    SC("unacceptable", -20, 3),
    SC("not acceptable", -15, 2),
    SC("terrible", -20, 2),
    SC("awful", -20, 2),
    SC("horrible", -20, 2),
    SC("poor", -10, 2),
    SC("useless", -15, 2),
    SC("disaster", -20, 2),
    SC("broken", -10, 2),
    SC("crashes", -10, 2),
    SC("crashed", -10, 2),
    SC("crash", -10, 1),
    SC("not working", -10, 2),
    SC("stopped working", -10, 2),
    SC("doesn't work", -10, 2),
    SC("isn't working", -10, 2),
    SC("is down", -15, 2),
    SC("been down", -15, 2),
    SC("fails", -8, 2),
    SC("failed", -8, 1),
    SC("error", -5, 1),
    SC("errors", -8, 2),
    SC("bug", -5, 2),
    SC("wrong", -10, 2),
    SC("incorrectly", -8, 2),
    SC("missing", -3, 0),
    SC("disappear", -8, 2),
    SC("are gone", -10, 2),
    SC("lost", -8, 2),
    SC("lose", -5, 1),
    SC("slow", -8, 1),
    SC("slower", -8, 2),
    SC("sluggish", -10, 2),
    SC("spam", -5, 1),
    SC("charged", -5, 1),
    SC("charged twice", -10, 2),
    SC("overcharged", -10, 3),
    SC("refund", -5, 2),
    SC("dispute", -10, 1),
    SC("unprofessional", -10, 2),
    SC("complaining", -8, 2),
    SC("step backwards", -15, 2),
    SC("painful", -10, 2),
    SC("double-booking", -10, 2),
    SC("locked out", -10, 2),
    SC("can't believe", -10, 1),
    SC("no answer", -8, 2),
    SC("nobody has answered", -10, 2),
    SC("ignored", -10, 2),
    SC("hurting", -10, 2),
    SC("foolish", -10, 2),
    SC("pushy", -10, 2),
    SC("not a good", -10, 2),
    SC("not great", -10, 2),
    SC("never happens again", -8, 2),
    SC("mess", -10, 2),
    SC("keep getting", -5, 1),
    SC("defeats the purpose", -10, 2),
    SC("sort this out", -3, 1),
    SC("security issue", -8, 2),
    SC("investigate", -3, 1),
    SC("too limited", -10, 1),
    S("limited", -5),
    SC("mixed", -5, 1),
    SC("worst", -20, 2),
    SC("bad", -10, 1),
    SC("problem", -5, 1),
    SC("issue", -3, 0),
    SC("serious", -8, 1),
    SC("critical", -8, 1),
    SC("duplicated", -5, 1),
    SC("not what", -8, 2),
    SC("fix", -3, 0),
    SC("please fix", -5, 2),
    SC("fix this", -3, 1),
    SC("fix it", -3, 1),
    SC("fixed", -3, 0),
    SC("expect better", -10, 2),
    SC("can't see", -5, 1),
    SC("can't access", -8, 1),
    SC("cannot access", -8, 1),
    SC("stop all", -5, 1),
    SC("did not send", -5, 1),
    SC("not loading", -10, 2),
    SC("still not there", -10, 1),
    SC("cancel", -5, 1),
    SC("considering other options", -15, 2),
    SC("slipped", -5, 1),
    SC("wrong template", -10, 2),
    S("complaints", -5),
    S("complaint", -5),
    S("worried", -10),
    S("concern", -5),
    S("unfortunately", -8),
    S("sorry", -2),
    S("too complicated", -10),
    S("low", -3),
    S("didn't fit", -10),
    S("decided not", -8),
    S("hard", -5),
    S("difficult", -5),
    S("confusing", -10),
    S("tiring", -5),
    S("blocked", -8),
    S("fail", -5),
    S("quite high", -8),
    S("not interested", -5),
    S("dropped", -8),
    S("stuck", -8),

    /* Praise and warmth. */
    S("love", 12),
    S("loved", 12),
    S("loving", 12),
    S("loves", 12),
    S("like it", 8),
    S("great", 8),
    S("excellent", 12),
    S("fantastic", 12),
    S("amazing", 12),
    S("awesome", 12),
    S("wonderful", 12),
    S("brilliant", 12),
    S("outstanding", 15),
    S("superb", 12),
    S("perfect", 8),
    S("perfectly", 8),
    S("happy", 10),
    S("pleased", 10),
    S("impressed", 12),
    S("enjoyed", 10),
    S("enjoying", 10),
    S("enjoy", 8),
    S("appreciate", 8),
    S("appreciated", 8),
    S("helpful", 8),
    S("useful", 6),
    S("excited", 10),
    S("exciting", 10),
    S("thrilled", 12),
    S("glad", 8),
    S("smooth", 8),
    S("smoothly", 8),
    S("nice", 6),
    S("kudos", 12),
    S("congrats", 12),
    S("congratulations", 12),
    S("well deserved", 12),
    S("star", 8),
    S("game changer", 12),
    S("recommend", 8),
    S("recommended", 6),
    S("promising", 8),
    S("productive", 8),
    S("pleasure", 8),
    S("looking forward", 6),
    S("thank you so much", 8),
    S("thanks so much", 8),
    S("thanks a lot", 6),
    S("much appreciated", 8),
    S("satisfied", 10),
    S("easy to use", 8),
    S("success", 8),
    S("successful", 8),
    S("big fan", 12),
    S("warm welcome", 8),
    S("real difference", 10),
    S("professional", 6),
    S("good news", 8),
    S("great news", 6),
    S("well", 0),
    S("great work", 8),
    S("nice work", 8),
    S("good", 5),
    S("best vendor", 10),
    S("sounds great", 6),
    S("works perfectly", 8),
    S("solved", 6),
    S("friendly", 8),
    S("flexibility", 6),
    S("definitely", 4),
    S("faster", 5),
    S("better", 4),
    S("saves", 8),
    S("well-prepared", 8),
    S("merry", 6),
    S("happy holidays", 6),
    S("interested", 3),
    S("delight", 10),

    /* Urgency. */
    U("urgent", 3),
    U("urgently", 3),
    U("asap", 3),
    U("as soon as possible", 3),
    U("immediately", 3),
    U("emergency", 3),
    U("critical", 3),
    U("today", 1),
    U("tonight", 3),
    U("tomorrow", 2),
    U("this week", 2),
    U("by friday", 2),
    U("by thursday", 2),
    U("by monday", 2),
    U("by wednesday", 2),
    U("by tuesday", 2),
    U("before friday", 2),
    U("end of the week", 2),
    U("end of the month", 2),
    U("end of the quarter", 2),
    U("deadline", 2),
    U("soon", 2),
    U("quickly", 2),
    U("within 24 hours", 2),
    U("next wednesday", 1),
    U("closes", 1),
    U("expires", 2),
    U("before the weekend", 2),
    U("within the week", 2),
    U("this morning", 1),
    U("ends on", 2),
    U("month end", 2),
    U("prioritize", 2),
    U("since this morning", 2),
    U("next week", 1),
    U("is down", 3),
    U("been down", 3),
    U("down for", 3),
    U("blocked", 3),
    U("can't log in", 3),
    U("cannot work", 3),
    U("before tomorrow's", 3),
    U("tomorrow morning", 2),
};

#undef W
#undef S
#undef SC
#undef U
#undef F

enum {
    LEX_N = sizeof(lexicon) / sizeof(lexicon[0]),
    WORD_MAX = 32,    /* longer words are cut (they match nothing) */
    PHRASE_MAX = 8,   /* words in the longest entry (a power of two) */
    HASH_SIZE = 2048, /* buckets; a power of two above LEX_N */
    NEG_WINDOW = 3,   /* words a negator reaches */
    INT_WINDOW = 2,   /* words an intensifier reaches */
};

/* The index: entries chained by the hash of their last word. */
static short bucket[HASH_SIZE];
static short chain[LEX_N];
static unsigned char nwords[LEX_N];
static uint32_t word_hash[LEX_N][PHRASE_MAX]; /* of each word of each entry */
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static uint32_t hash_word(const char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 16777619u;
    return h;
}

static void fold_build(void);

static void index_build(void)
{
    fold_build();
    for (size_t i = 0; i < HASH_SIZE; i++)
        bucket[i] = -1;
    for (int i = LEX_N - 1; i >= 0; i--) {
        const char *t = lexicon[i].text, *last = strrchr(t, ' ');
        last = last ? last + 1 : t;
        int n = 0;
        for (const char *c = t;; n++) {
            const char *sp = strchr(c, ' ');
            size_t len = sp ? (size_t)(sp - c) : strlen(c);
            word_hash[i][n] = hash_word(c, len);
            if (!sp)
                break;
            c = sp + 1;
        }
        nwords[i] = (unsigned char)(n + 1);
        uint32_t h = hash_word(last, strlen(last)) & (HASH_SIZE - 1);
        chain[i] = bucket[h];
        bucket[h] = (short)i;
    }
}

/* The words seen so far, the last PHRASE_MAX of them kept for phrases. */
struct word {
    char s[WORD_MAX];
    unsigned char len;
    uint32_t hash;
};

/* What one sentence holds until it ends. */
struct sentence {
    int w[INTENT_COUNT];
    unsigned flags;
    unsigned first_flags; /* of the first word */
    int words;
};

struct state {
    struct word ring[PHRASE_MAX];
    unsigned long pos; /* words seen */
    long last_neg, last_int, last_hypo;
    int w[INTENT_COUNT]; /* intent weights, doubled (subject words count 3, body 2) */
    double sent;         /* sentiment sum, tenths */
    int urg, urg_cues;
    int scale; /* 3 in the subject, 2 in the body */
    struct sentence s;
};

/* True when entry e's words (but the last) are the words before the current one. */
static bool entry_matches(const struct state *st, int e)
{
    int n = nwords[e];
    if ((unsigned long)n > st->pos)
        return false;
    /* Hashes first, the last word's first; the text only for a real candidate. */
    if (st->ring[(st->pos - 1) & (PHRASE_MAX - 1)].hash != word_hash[e][n - 1])
        return false;
    for (int k = 0; k < n - 1; k++)
        if (st->ring[(st->pos - n + k) & (PHRASE_MAX - 1)].hash != word_hash[e][k])
            return false;
    const char *t = lexicon[e].text;
    for (int k = 0; k < n; k++) {
        const struct word *w = &st->ring[(st->pos - n + k) & (PHRASE_MAX - 1)];
        const char *sp = strchr(t, ' ');
        size_t len = sp ? (size_t)(sp - t) : strlen(t);
        if (len != w->len || memcmp(t, w->s, len) != 0)
            return false;
        t += len + (sp ? 1 : 0);
    }
    return true;
}

static void apply_entry(struct state *st, int e)
{
    const struct lex *l = &lexicon[e];
    long start = (long)st->pos - nwords[e]; /* index of the entry's first word */
    bool negated = st->last_neg >= 0 && start - st->last_neg <= NEG_WINDOW &&
                   start > st->last_neg && !(l->flags & L_NEG);
    struct sentence *s = &st->s;
    if (l->flags & L_NEG)
        st->last_neg = (long)st->pos - 1;
    if (l->flags & L_INT)
        st->last_int = (long)st->pos - 1;
    if (l->flags & L_HYPO)
        st->last_hypo = (long)st->pos - 1;
    if ((l->flags & L_OPEN) && s->words == nwords[e])
        s->first_flags |= L_OPEN;
    /* "We don't need a demo" names a meeting without asking for one. */
    s->flags |= l->flags & (negated ? L_PAST | L_WH
                                    : L_REQ | L_MNOUN | L_PAST | L_TIME | L_WH | L_ASK | L_NOQ);

    const signed char iw[INTENT_COUNT] = {l->meet,  l->ques, l->comp,  l->feat,
                                          l->price, 0,       l->follow};
    for (int i = 0; i < INTENT_COUNT; i++) {
        int v = iw[i];
        if (negated && v > 0)
            v = 0; /* "no complaints", "don't need a demo" */
        s->w[i] += v * st->scale;
    }
    if (l->sent) {
        double v = l->sent;
        if (st->last_int >= 0 && start - st->last_int <= INT_WINDOW && start > st->last_int)
            v *= 1.6;
        if (negated)
            v *= -0.75; /* "not happy" is negative, "not bad" only mildly positive */
        if (st->last_hypo >= 0 && start - st->last_hypo <= INT_WINDOW && start > st->last_hypo)
            v *= 0.3; /* "it would be very helpful if" wishes, it does not praise */
        st->sent += v * st->scale / 2.0;
    }
    if (l->urg && !negated) {
        st->urg_cues++;
        if (l->urg > st->urg)
            st->urg = l->urg;
    }
}

/* Ends the current sentence: turns its cues into intent weights. */
static void sentence_end(struct state *st, bool qmark)
{
    struct sentence *s = &st->s;
    if (s->words == 0)
        return;
    int unit = 2 * st->scale; /* one full intent */
    bool meet =
        (s->flags & L_MNOUN) && !(s->flags & L_PAST) && ((s->flags & (L_REQ | L_TIME)) || qmark);
    if (meet && s->w[I_MEET] < unit)
        s->w[I_MEET] = unit;
    /* A question counts unless a more specific intent covers it: a price,
     * a meeting or a time, a feature, a chase ("any update?"). A subject's
     * question mark only announces the body. */
    bool asks = (qmark && st->scale == 2 && s->words >= 2) || (s->flags & L_ASK);
    if (asks) {
        bool covered = s->w[I_PRICE] > 0 || s->w[I_MEET] > 0 ||
                       (s->flags & (L_MNOUN | L_TIME | L_NOQ)) || s->w[I_FEAT] >= unit ||
                       (s->w[I_FOLLOW] > 0 && !(s->flags & L_WH));
        if (!covered && s->w[I_QUES] >= 0)
            s->w[I_QUES] += unit;
    }
    for (int i = 0; i < INTENT_COUNT; i++)
        st->w[i] += s->w[i];
    memset(s, 0, sizeof(*s));
    st->last_neg = st->last_int = st->last_hypo = -1;
}

static void on_word(struct state *st, const char *p, size_t n)
{
    struct word *w = &st->ring[st->pos & (PHRASE_MAX - 1)];
    w->len = (unsigned char)(n < WORD_MAX ? n : WORD_MAX - 1);
    memcpy(w->s, p, w->len);
    st->pos++;
    st->s.words++;
    w->hash = hash_word(w->s, w->len);
    uint32_t h = w->hash & (HASH_SIZE - 1);
    /* Only the longest entries ending here count ("not happy" over "happy");
     * entries of the same words add up. */
    int best = 0, found[8], nfound = 0;
    for (int e = bucket[h]; e >= 0; e = chain[e]) {
        if (nwords[e] < best || !entry_matches(st, e))
            continue;
        if (nwords[e] > best) {
            best = nwords[e];
            nfound = 0;
        }
        if (nfound < 8)
            found[nfound++] = e;
    }
    for (int i = 0; i < nfound; i++)
        apply_entry(st, found[i]);
    /* "10am", "3pm", "14h": a time of day. */
    if (w->len >= 3 && w->s[0] >= '0' && w->s[0] <= '9' &&
        (memcmp(w->s + w->len - 2, "am", 2) == 0 || memcmp(w->s + w->len - 2, "pm", 2) == 0))
        st->s.flags |= L_TIME;
}

/* Word bytes, case-folded: ASCII letters and digits, the apostrophe and
 * every byte of a UTF-8 sequence; 0 for a separator. Built with the index. */
static unsigned char fold[256];

static void fold_build(void)
{
    for (int c = 0; c < 256; c++)
        fold[c] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '\'' || c >= 0x80
                      ? (unsigned char)c
                  : c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32)
                                         : 0;
}

/* Feeds text word by word, ending sentences at . ! ? and at short lines. */
static void scan(struct state *st, const char *text)
{
    char word[WORD_MAX];
    size_t n = 0;
    size_t line = 0; /* bytes on the current line */
    for (const unsigned char *c = (const unsigned char *)text;; c++) {
        unsigned char ch = *c;
        /* A typographic apostrophe (U+2019) reads as '. */
        if (ch == 0xE2 && c[1] == 0x80 && c[2] == 0x99) {
            ch = '\'';
            c += 2;
        }
        if (fold[ch]) {
            if (n < WORD_MAX - 1)
                word[n++] = (char)fold[ch];
            line++;
            continue;
        }
        if (n) {
            /* Quotes around a word are not part of it. */
            size_t b = 0;
            while (b < n && word[b] == '\'')
                b++;
            while (n > b && word[n - 1] == '\'')
                n--;
            if (n > b)
                on_word(st, word + b, n - b);
            n = 0;
        }
        if (!ch)
            break;
        if (ch == ',' || ch == ';' || ch == ':')
            st->last_neg = -1; /* a negation ends at a clause */
        if (ch == '?' || ch == '.' || ch == '!') {
            /* "e.g." or "3.5" do not end a sentence; a space or the end does. */
            if (!c[1] || c[1] == ' ' || c[1] == '\n' || c[1] == '\r' || ch != '.')
                sentence_end(st, ch == '?');
        } else if (ch == '\n') {
            if (line < 60)
                sentence_end(st, false);
            line = 0;
            continue;
        }
        line++;
    }
    sentence_end(st, false);
}

void ai_rules_analyze(const char *subject, const char *text, struct analysis *out)
{
    pthread_once(&index_once, index_build);
    struct state st;
    memset(&st, 0, sizeof(st));
    st.last_neg = st.last_int = st.last_hypo = -1;
    if (subject && *subject) {
        st.scale = 3;
        scan(&st, subject);
    }
    st.scale = 2;
    scan(&st, text ? text : "");

    unsigned intents = 0;
    for (int i = 0; i < INTENT_COUNT; i++)
        if (i != I_GEN && st.w[i] >= 4) /* one full cue in the body */
            intents |= 1u << i;
    out->intents = intents ? intents : INTENT_GENERAL;

    double score = tanh(st.sent / 15.0);
    out->sentiment_score = score;
    out->sentiment = score >= 0.35    ? SENTIMENT_POSITIVE
                     : score <= -0.35 ? SENTIMENT_NEGATIVE
                                      : SENTIMENT_NEUTRAL;
    /* Two time cues ("today" and "closes") weigh one level more than one. */
    int urg = st.urg + (st.urg_cues >= 2 && st.urg < 3 ? 1 : 0);
    out->urgency = urg >= 3 ? URGENCY_HIGH : urg >= 2 ? URGENCY_MEDIUM : URGENCY_LOW;
    out->provider = "offline";
}

/*
 * The analyzer: the word lists' answer, then the learned model's (ai/model.c)
 * with that answer among its features, when a model is loaded.
 */
void ai_offline_analyze(const char *subject, const char *text, struct analysis *out)
{
    ai_rules_analyze(subject, text, out);
    model_refine(subject, text, out);
}

/* The provider: no state, so one static instance serves every caller. */
static int offline_analyze(struct ai *ai, const char *subject, const char *text,
                           struct analysis *out, struct errinfo *e)
{
    ai_offline_analyze(subject, text, out);
    return 0;
}

static void offline_free(struct ai *ai)
{
}

/* No draft method: ai_draft() calls ai_offline_draft() (offline_draft.c). */
static const struct ai_ops offline_ops = {"offline", offline_analyze, offline_free, NULL};
static struct ai offline_ai = {&offline_ops};

struct ai *ai_offline_new(void)
{
    return &offline_ai;
}

const char *sentiment_name(int s)
{
    switch (s) {
    case SENTIMENT_NEGATIVE:
        return "negative";
    case SENTIMENT_NEUTRAL:
        return "neutral";
    case SENTIMENT_POSITIVE:
        return "positive";
    }
    return NULL;
}

int sentiment_parse(const char *name)
{
    for (int s = SENTIMENT_NEGATIVE; name && s <= SENTIMENT_POSITIVE; s++)
        if (strcmp(name, sentiment_name(s)) == 0)
            return s;
    return -2;
}

const char *urgency_name(int u)
{
    switch (u) {
    case URGENCY_LOW:
        return "low";
    case URGENCY_MEDIUM:
        return "medium";
    case URGENCY_HIGH:
        return "high";
    }
    return NULL;
}

int urgency_parse(const char *name)
{
    for (int u = URGENCY_LOW; name && u <= URGENCY_HIGH; u++)
        if (strcmp(name, urgency_name(u)) == 0)
            return u;
    return -1;
}
