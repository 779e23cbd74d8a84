// Actions shared by several pages.
import { api } from "../api.js";

// Drafts a follow-up for one contact, then opens the review queue for it.
// A contact with a draft already waiting goes to that draft instead.
export async function draftEmail(ctx, contact, button) {
  const who = contact.name || contact.email;
  if (button) {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
  }
  try {
    const { data } = await api.post("/api/content/generate", { target: "contacts", contactIds: [contact.id] });
    const skipped = (data.skipped || [])[0];
    const target = `/dashboard/drafts?contactId=${encodeURIComponent(contact.id)}`;
    if (data.drafts && data.drafts.length) {
      ctx.navigate(target, { flash: `A draft for ${who} is ready for review.` });
    } else if (skipped && skipped.reason === "has_draft") {
      ctx.navigate(target, { flash: `A draft for ${who} is already waiting for review.` });
    } else if (skipped && skipped.reason === "unsubscribed") {
      ctx.toast(`${who} has unsubscribed: no email can be drafted.`, { kind: "alert" });
    } else {
      ctx.toast(`No draft was written for ${who}.`, { kind: "alert" });
    }
  } catch (err) {
    ctx.toast(`Drafting failed: ${err.message}`, { kind: "alert" });
  } finally {
    if (button && button.isConnected) {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }
}

// Calls fn at most once per `ms`, trailing, for bursts of live events.
export function debounce(fn, ms = 400) {
  let t = null;
  const wrapped = () => {
    if (t) clearTimeout(t);
    t = setTimeout(() => {
      t = null;
      fn();
    }, ms);
  };
  wrapped.cancel = () => t && clearTimeout(t);
  return wrapped;
}
