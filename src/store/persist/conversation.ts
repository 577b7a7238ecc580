/**
 * The conversation on screen survives a reload (issue 15): its last turn (question, answer,
 * whether it was stopped), the earlier turns and the settings, as small JSON in localStorage.
 * The images come back with the rest of the input (session.ts); the engine's caches do not
 * (a new worker), so the next follow-up prefills the whole conversation once and keeps it.
 */
import type { ConversationTurn, MethodSettings } from '../../engine/protocol';

const KEY = 'sparsevlm.conversation.v1';

export interface SessionConversation {
  history: ConversationTurn[];
  question: string;
  answer: string;
  status: 'done' | 'stopped';
  settings: MethodSettings;
  label: string;
  maxNewTokens?: number;
  tokenCount: number;
}

const isTurn = (value: unknown): value is ConversationTurn =>
  !!value &&
  typeof (value as ConversationTurn).question === 'string' &&
  typeof (value as ConversationTurn).answer === 'string';

/** The saved conversation when every field passes its check; null otherwise (a reload never breaks the page). */
export function loadConversation(
  storage: Pick<Storage, 'getItem'> | undefined = globalThis.localStorage,
): SessionConversation | null {
  try {
    const text = storage?.getItem(KEY);
    const c = text ? (JSON.parse(text) as Partial<SessionConversation>) : null;
    if (
      !c ||
      !Array.isArray(c.history) ||
      c.history.length === 0 ||
      !c.history.every(isTurn) ||
      typeof c.question !== 'string' ||
      typeof c.answer !== 'string' ||
      (c.status !== 'done' && c.status !== 'stopped') ||
      !c.settings ||
      typeof c.settings.method !== 'string' ||
      typeof c.label !== 'string' ||
      typeof c.tokenCount !== 'number'
    )
      return null;
    return c as SessionConversation;
  } catch {
    return null;
  }
}

/** Save (or with null forget) the conversation on screen. */
export function saveConversation(
  conversation: SessionConversation | null,
  storage: Pick<Storage, 'setItem' | 'removeItem'> | undefined = globalThis.localStorage,
): void {
  try {
    if (conversation) storage?.setItem(KEY, JSON.stringify(conversation));
    else storage?.removeItem(KEY);
  } catch {
    /* quota or privacy mode: keep working */
  }
}
