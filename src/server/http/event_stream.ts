/**
 * @module
 * One Server-Sent Events response body, pulled by the HTTP client: a bounded queue of events
 * where notifications give way (oldest dropped first, counted in one warning) and a final
 * message never does, keep-alive comments on long-lived streams, and a callback when the client
 * goes away before the stream ended.
 */

const encoder = new TextEncoder();

/** Notifications one stream may hold for a client that reads slowly; older ones are dropped. */
export const MAX_QUEUED_EVENTS = 256;
/** The characters those may have in all. */
export const MAX_QUEUED_EVENT_CHARS = 1024 * 1024;
/** How often an idle long-lived stream sends a comment, so proxies and clients keep it open. */
export const KEEP_ALIVE_MS = 20_000;

/** The headers of every SSE response (`X-Accel-Buffering`: nginx must not hold events back). */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache",
  "x-accel-buffering": "no",
};

interface Queued {
  text: string;
  /** A notification may be dropped; a final message (a result, an error) may not. */
  droppable: boolean;
}

/** An SSE body; see the module documentation. */
export class EventStream {
  readonly body: ReadableStream<Uint8Array>;
  #queue: Queued[] = [];
  #head = 0;
  #droppableCount = 0;
  #droppableChars = 0;
  #dropped = 0;
  #ending = false;
  #closed = false;
  #wake: (() => void) | undefined;
  #keepAlive: ReturnType<typeof setInterval> | undefined;
  readonly #onGone: () => void;
  readonly #droppedNote: (count: number) => string;

  /**
   * `first`: text sent as soon as the client reads (a `retry:` hint). `onGone`: the client
   * stopped reading before the stream ended (it closed the connection). `droppedNote(n)`: the
   * JSON of the notification that says n were dropped. `keepAlive`: send comments while idle.
   */
  constructor(options: {
    first?: string | undefined;
    onGone: () => void;
    droppedNote: (count: number) => string;
    keepAlive?: boolean;
  }) {
    this.#onGone = options.onGone;
    this.#droppedNote = options.droppedNote;
    if (options.first !== undefined) {
      this.#queue.push({ text: options.first, droppable: false });
    }
    if (options.keepAlive) {
      this.#keepAlive = setInterval(() => {
        if (this.#size() === 0) this.#push({ text: ":\n\n", droppable: true });
      }, KEEP_ALIVE_MS);
    }
    this.body = new ReadableStream<Uint8Array>({
      pull: (controller) => this.#pull(controller),
      cancel: () => this.#gone(),
    }, { highWaterMark: 0 });
  }

  /** True once ended or abandoned: nothing more is sent. */
  get closed(): boolean {
    return this.#closed || this.#ending;
  }

  /**
   * Queues a message (JSON) before the final one. A notification gives way to newer ones if the
   * client lags; a request of the server's (`droppable` false) does not.
   */
  notify(json: string, droppable = true): void {
    this.#push({ text: `event: message\ndata: ${json}\n\n`, droppable });
    while (
      this.#droppableCount > MAX_QUEUED_EVENTS ||
      this.#droppableChars > MAX_QUEUED_EVENT_CHARS
    ) this.#dropOldest();
  }

  /** Queues the final message (JSON) and ends the stream once the client has read it. */
  finish(json: string): void {
    this.#push({ text: `event: message\ndata: ${json}\n\n`, droppable: false });
    this.end();
  }

  /** Ends the stream once what is queued has been read. */
  end(): void {
    if (this.#closed) return;
    this.#ending = true;
    clearInterval(this.#keepAlive);
    this.#signal();
  }

  #push(item: Queued): void {
    if (this.#closed || this.#ending) return;
    this.#queue.push(item);
    if (item.droppable) {
      this.#droppableCount++;
      this.#droppableChars += item.text.length;
    }
    this.#signal();
  }

  #size(): number {
    return this.#queue.length - this.#head;
  }

  #dropOldest(): void {
    for (let i = this.#head; i < this.#queue.length; i++) {
      const item = this.#queue[i]!;
      if (!item.droppable) continue;
      this.#queue.splice(i, 1);
      this.#droppableCount--;
      this.#droppableChars -= item.text.length;
      this.#dropped++;
      return;
    }
  }

  #signal(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async #pull(
    controller: ReadableStreamDefaultController<Uint8Array>,
  ): Promise<void> {
    while (this.#size() === 0 && !this.#ending && !this.#closed) {
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    if (this.#closed) return;
    if (this.#dropped > 0) {
      const note = this.#droppedNote(this.#dropped);
      this.#dropped = 0;
      controller.enqueue(
        encoder.encode(`event: message\ndata: ${note}\n\n`),
      );
      return;
    }
    if (this.#size() === 0) {
      this.#closed = true;
      controller.close();
      return;
    }
    const item = this.#queue[this.#head++]!;
    if (item.droppable) {
      this.#droppableCount--;
      this.#droppableChars -= item.text.length;
    }
    if (this.#head > 64 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    controller.enqueue(encoder.encode(item.text));
  }

  #gone(): void {
    if (this.#closed) return;
    const ended = this.#ending && this.#size() === 0;
    this.#closed = true;
    clearInterval(this.#keepAlive);
    this.#queue = [];
    this.#head = 0;
    this.#signal();
    if (!ended) this.#onGone();
  }
}
