/**
 * Per-feed polling state and its pure transitions: what is new, what changed, when to try again.
 * The first poll of a feed only learns what is there (nothing is posted item by item).
 */
import { z } from "zod";
import { backoffMs as exponentialBackoff } from "../../util/backoff.js";
import type { FeedItem } from "./parse.js";
import type { FetchFailure, Validators } from "./http.js";

export type SeenItem = { fp: string; lastSeen: string };

export type FeedState = {
  primed: boolean;
  validators: Validators;
  seen: Record<string, SeenItem>;
  failures: number;
  retryAfter?: string | undefined;
  lastError?: string | undefined;
  lastSuccess?: string | undefined;
  /** Hash of the feed's mapping when items were last translated: a new mapping retries rejected items. */
  mapping?: string | undefined;
};

/** Seen-marker of an item the mapping could not turn into a ticket (kept so it is not logged every poll). */
export const rejectedMarker = (fingerprint: string): string => `rejected:${fingerprint}`;

export const emptyFeedState = (): FeedState => ({ primed: false, validators: {}, seen: {}, failures: 0 });

const FeedStateSchema = z.object({
  primed: z.boolean(),
  validators: z.object({ etag: z.string().optional(), lastModified: z.string().optional() }),
  seen: z.record(z.string(), z.object({ fp: z.string(), lastSeen: z.string() })),
  failures: z.number().int().min(0),
  retryAfter: z.string().optional(),
  lastError: z.string().optional(),
  lastSuccess: z.string().optional(),
  mapping: z.string().optional(),
});

/** The feed's state as stored (unknown to the store): a new feed, or what was kept; unreadable state is reported. */
export function readFeedState(stored: unknown, report: (problem: string) => void): FeedState {
  if (stored === undefined) return emptyFeedState();
  const parsed = FeedStateSchema.safeParse(stored);
  if (parsed.success) return parsed.data;
  report(parsed.error.issues[0]?.message ?? "invalid");
  return emptyFeedState();
}

/** Items absent from the feed for this long are forgotten (feeds are windows over recent items). */
export const SEEN_RETENTION_MS = 30 * 24 * 3600 * 1000;

/** Items absent from the feed that are remembered at most (the most recently seen), whatever their age. */
export const MAX_RETAINED_SEEN = 10_000;

const BASE_DELAY_MS = 30_000;
const MAX_DELAY_MS = 60 * 60_000;

/** Exponential backoff: 30 s, 1 min, 2 min … capped at 1 h; a permanent failure waits at least 5 min. */
export function backoffMs(failures: number, kind: FetchFailure["kind"]): number {
  const delay = exponentialBackoff(failures, { baseMs: BASE_DELAY_MS, maxMs: MAX_DELAY_MS });
  return kind === "permanent" ? Math.max(delay, 5 * 60_000) : delay;
}

export function isDue(state: FeedState, now: Date): boolean {
  return state.retryAfter === undefined || now.getTime() >= Date.parse(state.retryAfter);
}

export function afterFailure(state: FeedState, failure: FetchFailure, now: Date): FeedState {
  const failures = state.failures + 1;
  return {
    ...state,
    failures,
    lastError: `${failure.kind}: ${failure.message}`,
    retryAfter: new Date(now.getTime() + backoffMs(failures, failure.kind)).toISOString(),
  };
}

export function afterNotModified(state: FeedState, now: Date): FeedState {
  return { ...state, failures: 0, retryAfter: undefined, lastError: undefined, lastSuccess: now.toISOString() };
}

export type ItemDiff = {
  /** True when this poll primed the feed: `fresh` holds every current item but none is announced singly. */
  firstPoll: boolean;
  fresh: FeedItem[];
  changed: FeedItem[];
  next: FeedState;
};

export function diffItems(state: FeedState, items: readonly FeedItem[], validators: Validators, now: Date, mapping?: string): ItemDiff {
  const nowIso = now.toISOString();
  const seen: Record<string, SeenItem> = {};
  // Keep recently seen items that dropped out of the window, so that they are not "new" if they
  // come back; at most MAX_RETAINED_SEEN of them, the most recently seen (the state is written with
  // every poll that brings news, so its size is the size of those writes).
  const listed = new Set(items.map((i) => i.key));
  const retained = Object.entries(state.seen).filter(([key, entry]) => !listed.has(key) && now.getTime() - Date.parse(entry.lastSeen) < SEEN_RETENTION_MS);
  if (retained.length > MAX_RETAINED_SEEN) retained.sort(([, a], [, b]) => (a.lastSeen < b.lastSeen ? 1 : a.lastSeen > b.lastSeen ? -1 : 0)).length = MAX_RETAINED_SEEN;
  for (const [key, entry] of retained) seen[key] = entry;
  const sameMapping = mapping === undefined || state.mapping === mapping;
  const fresh: FeedItem[] = [];
  const changed: FeedItem[] = [];
  for (const item of items) {
    const before = state.seen[item.key];
    const stillRejected = before?.fp === rejectedMarker(item.fingerprint) && sameMapping;
    if (!before) fresh.push(item);
    else if (before.fp !== item.fingerprint && !stillRejected) changed.push(item);
    seen[item.key] = { fp: stillRejected ? before.fp : item.fingerprint, lastSeen: nowIso };
  }
  return {
    firstPoll: !state.primed,
    fresh,
    changed,
    next: { primed: true, validators, seen, failures: 0, lastSuccess: nowIso, ...(mapping !== undefined ? { mapping } : {}) },
  };
}
