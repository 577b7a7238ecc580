/**
 * The conversation kept over a reload (issue 15): saved and read back as it was, and anything
 * stale or hand-edited read as nothing (a reload must never break the page).
 */
import { describe, expect, it } from 'vitest';
import { loadConversation, saveConversation, type SessionConversation } from './conversation';

function memoryStorage() {
  const items = new Map<string, string>();
  return {
    getItem: (k: string) => items.get(k) ?? null,
    setItem: (k: string, v: string) => void items.set(k, v),
    removeItem: (k: string) => void items.delete(k),
    items,
  };
}

const conversation: SessionConversation = {
  history: [{ question: 'What is in the picture?', answer: 'Three shapes.' }],
  question: 'Which one is largest?',
  answer: 'The circle',
  status: 'stopped',
  settings: { method: 'sparsevlm', budget: 64 },
  label: 'SparseVLM 64',
  maxNewTokens: 128,
  tokenCount: 2,
};

describe('the conversation kept over a reload', () => {
  it('comes back as it was saved, and is forgotten with null', () => {
    const storage = memoryStorage();
    saveConversation(conversation, storage);
    expect(loadConversation(storage)).toEqual(conversation);
    saveConversation(null, storage);
    expect(loadConversation(storage)).toBeNull();
    expect(storage.items.size).toBe(0);
  });

  it('reads a damaged or foreign entry as nothing', () => {
    const storage = memoryStorage();
    for (const bad of [
      'not json',
      JSON.stringify({ ...conversation, history: [] }),
      JSON.stringify({ ...conversation, history: [{ question: 'q' }] }),
      JSON.stringify({ ...conversation, status: 'running' }),
      JSON.stringify({ ...conversation, settings: null }),
      JSON.stringify({ ...conversation, tokenCount: '2' }),
    ]) {
      storage.items.set('sparsevlm.conversation.v1', bad);
      expect(loadConversation(storage), bad).toBeNull();
    }
  });
});
