import { randomUUID } from 'node:crypto';
import type OpenAI from 'openai';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import { AllotApiError, type AllotClient } from './allot-client';

/**
 * The id was used by a call that already ran (its reservation is settled, released or expired): the
 * model is not called again. Use a new id for a new call; reuse an id only to retry the same call
 * before it ran.
 */
export class ReservationNotHeldError extends Error {
  constructor(
    readonly id: string,
    readonly status: string,
  ) {
    super(`reservation ${id} is ${status}: that call already ran; use a new id for a new call`);
    this.name = 'ReservationNotHeldError';
  }
}

// Metering for the official `openai` npm client: reserve before a chat completion, settle with the
// usage the API reports, release when the call fails or is abandoned. A gateway wraps each call it
// forwards; a person with too few tokens gets Allot's InsufficientTokensError before any model runs.

/** Output tokens reserved when a request sets neither `max_completion_tokens` nor `max_tokens`. */
export const defaultOutputTokensReserved = 4_096;

export interface MeteringOptions {
  allot: AllotClient;
  /** Who the call is for: an email, `slack:U…` or `teams:<Entra object id>`. */
  user: string;
  /** The reservation's id; default a new UUID (pass your request id so retries are idempotent). */
  id?: string;
  /** Usage category for the value weights (e.g. "code"). */
  category?: string;
  /** Seconds Allot holds the tokens if the gateway never settles (default 300). */
  timeoutSeconds?: number;
  /**
   * Called when the model answered but the usage could not be settled (Allot unreachable, or the usage
   * refused, e.g. a server that reports 0 tokens). The answer is still returned; the hold is released
   * when Allot can be reached, and expires by itself otherwise. Default: ignore.
   */
  onSettleError?: (error: unknown) => void;
}

/**
 * A cautious count of a request's input tokens without a tokenizer: about four characters per token
 * of the messages' text, plus four per message for the chat format's framing. Too high is safe (the
 * settle frees the rest); too low only lets a call end slightly below zero, as usage may.
 */
export function estimateInputTokens(messages: readonly ChatCompletionMessageParam[]): number {
  let characters = 0;
  for (const message of messages) {
    const content = (message as { content?: unknown }).content;
    characters += typeof content === 'string' ? content.length : JSON.stringify(content ?? '').length;
  }
  return Math.ceil(characters / 4) + 4 * messages.length;
}

/** Tokens to reserve for a request: its input estimate plus the most output it allows. */
export function tokensToReserve(params: {
  messages: readonly ChatCompletionMessageParam[];
  max_completion_tokens?: number | null;
  max_tokens?: number | null;
}): number {
  const output = params.max_completion_tokens ?? params.max_tokens ?? defaultOutputTokensReserved;
  return Math.max(1, estimateInputTokens(params.messages) + output);
}

/**
 * Settles with the usage the model reported. If Allot refuses it (4xx) the hold is released; if Allot
 * cannot be reached it expires by itself. Either way the model's answer is not lost: the error goes to
 * `onSettleError`.
 */
async function settleOrRelease(
  options: MeteringOptions,
  id: string,
  usage: Parameters<AllotClient['settle']>[1],
): Promise<void> {
  try {
    await options.allot.settle(id, usage);
  } catch (error) {
    if (error instanceof AllotApiError && error.status < 500) await options.allot.release(id).catch(() => undefined);
    options.onSettleError?.(error);
  }
}

/** Reserves what a request may use; returns the reservation's id. Throws InsufficientTokensError. */
async function reserveFor(
  params: Parameters<typeof tokensToReserve>[0] & { model: string },
  options: MeteringOptions,
): Promise<string> {
  const id = options.id ?? randomUUID();
  const reservation = await options.allot.reserve({
    id,
    user: options.user,
    tokens: tokensToReserve(params),
    model: params.model,
    timeoutSeconds: options.timeoutSeconds,
  });
  if (reservation.status !== 'held') throw new ReservationNotHeldError(id, reservation.status);
  return id;
}

/**
 * `openai.chat.completions.create(params)` metered by Allot: reserves, calls, settles with
 * `response.usage`, and releases if the call throws. Throws InsufficientTokensError (HTTP 402 from
 * Allot) before calling the model when the person has too few tokens.
 */
export async function meteredChatCompletion(
  openai: OpenAI,
  params: ChatCompletionCreateParamsNonStreaming,
  options: MeteringOptions,
): Promise<ChatCompletion> {
  const id = await reserveFor(params, options);
  let response: ChatCompletion;
  try {
    response = await openai.chat.completions.create(params);
  } catch (error) {
    await options.allot.release(id).catch(() => undefined);
    throw error;
  }
  if (response.usage) {
    await settleOrRelease(options, id, {
      model: response.model || params.model,
      input_tokens: response.usage.prompt_tokens,
      output_tokens: response.usage.completion_tokens,
      ...(options.category === undefined ? {} : { category: options.category }),
    });
  } else {
    // A server that reports no usage cannot be metered; the hold is freed rather than guessed.
    await options.allot.release(id).catch(() => undefined);
  }
  return response;
}

/**
 * A streamed chat completion metered by Allot. Asks the API for usage in the last chunk
 * (`stream_options.include_usage`), settles with it when the stream ends, and releases the hold when
 * the stream fails or the caller stops reading early (the underlying request is aborted then).
 */
export async function meteredChatCompletionStream(
  openai: OpenAI,
  params: Omit<ChatCompletionCreateParamsStreaming, 'stream'>,
  options: MeteringOptions,
): Promise<AsyncGenerator<ChatCompletionChunk, void, undefined>> {
  const id = await reserveFor(params, options);
  let stream: Awaited<ReturnType<typeof openai.chat.completions.create>> & AsyncIterable<ChatCompletionChunk>;
  try {
    stream = (await openai.chat.completions.create({
      ...params,
      stream: true,
      stream_options: { ...params.stream_options, include_usage: true },
    })) as typeof stream;
  } catch (error) {
    await options.allot.release(id).catch(() => undefined);
    throw error;
  }
  const { allot, category } = options;
  return (async function* metered() {
    let settled = false;
    let model = params.model;
    let usage: ChatCompletionChunk['usage'];
    try {
      for await (const chunk of stream) {
        if (chunk.model) model = chunk.model;
        if (chunk.usage) usage = chunk.usage;
        yield chunk;
      }
      if (usage) {
        await settleOrRelease(options, id, {
          model,
          input_tokens: usage.prompt_tokens,
          output_tokens: usage.completion_tokens,
          ...(category === undefined ? {} : { category }),
        });
        settled = true;
      }
    } finally {
      if (!settled) {
        (stream as { controller?: AbortController }).controller?.abort();
        await allot.release(id).catch(() => undefined);
      }
    }
  })();
}
