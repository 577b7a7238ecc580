/**
 * EngineClient.generate's follow-up arguments (issue 15) reach the worker as the protocol's
 * generate fields, and the kept conversation comes back with the result. The link here is the
 * transport only (EngineLink): it records what the client posts and answers as the worker does.
 */
import { describe, expect, it } from 'vitest';
import { EngineClient, type EngineLink } from './client';
import type { FromWorker, ToWorker } from './protocol';
import type { RequestTrace } from '../common/trace';

function recordingLink() {
  const posted: ToWorker[] = [];
  let reply: (m: FromWorker) => void = () => {};
  const link: EngineLink = {
    post: (m) => posted.push(m),
    subscribe: (h) => {
      reply = h;
    },
  };
  return { link, posted, reply: (m: FromWorker) => reply(m) };
}

const image = () => ({ bytes: new Uint8Array([1, 2, 3]).buffer, mime: 'image/png', name: 'a.png' });
const options = { maxNewTokens: 2, temperature: 0, topP: 1, seed: 0 };
const trace = {} as RequestTrace; // not read by the client

describe('EngineClient.generate follow-ups', () => {
  it('sends history, conversation and keepConversation; returns the kept conversation', async () => {
    const { link, posted, reply } = recordingLink();
    const client = new EngineClient(link);
    const history = [{ question: 'Q1', answer: 'A1' }];
    const h = client.generate(image(), 'Q2', { method: 'none' }, options, undefined, {
      history,
      conversation: 'conversation-1',
      keepConversation: true,
    });
    expect(posted[0]).toMatchObject({
      type: 'generate',
      question: 'Q2',
      history,
      conversation: 'conversation-1',
      keepConversation: true,
    });
    reply({ type: 'done', id: h.id, text: 'A2', trace, conversation: { id: 'conversation-1', turns: 2 } });
    expect(await h.result).toMatchObject({ text: 'A2', conversation: { id: 'conversation-1', turns: 2 } });
  });

  it('a plain question sends none of them (the message as before)', async () => {
    const { link, posted, reply } = recordingLink();
    const client = new EngineClient(link);
    const h = client.generate(image(), 'Q', { method: 'none' }, options);
    expect(Object.keys(posted[0]).sort()).toEqual(['id', 'image', 'options', 'question', 'settings', 'type']);
    reply({ type: 'done', id: h.id, text: 'A', trace });
    expect((await h.result).conversation).toBeUndefined();
  });
});
