/**
 * @module
 * Resource subscriptions: the URIs a client subscribed to (legacy `resources/subscribe`, 2026
 * `subscriptions/listen` with `resourceSubscriptions`), what watches each while it is subscribed
 * (the files its resource's `watch` names, its `subscribe` hook in its worker), and the
 * `notifications/resources/updated` a change sends: one per URI per burst. A resource whose file
 * reloads tells its subscribers too (what it reads may have changed).
 */

import type { Logger } from "../util/log.ts";
import type { ResourceSet, Tool } from "../tool/served.ts";
import type { ServedResource } from "../tool/served_kinds.ts";
import type { ToolContext } from "../tool/tool.ts";
import { ToolError } from "../tool/tool.ts";
import { describeError } from "../util/describe.ts";

/**
 * Watches `paths` (relative to the working directory) until `signal` aborts; resolves once
 * watching, to the settled bursts of changes to any of them (a path that does not exist yet is
 * watched for its creation). Given by the program that serves: the server's core does not touch
 * files.
 */
export type FileWatcher = (
  paths: readonly string[],
  signal: AbortSignal,
) => Promise<AsyncIterable<unknown>>;

/** Milliseconds within which further changes of one URI become one notification. */
const BURST_MS = 50;

/** What the subscriptions of one connection need. */
export interface ResourceUpdatesOptions {
  /** The resources served now; undefined while they load (or when they failed to). */
  resources: () => ResourceSet | undefined;
  /** The URIs subscribed to now, legacy or on 2026 listen streams. */
  subscribed: () => ReadonlySet<string>;
  /** Sends `notifications/resources/updated` for `uri` to every subscriber, in both eras. */
  notify: (uri: string) => void;
  /** Watches the files a resource's `watch` names; without one they are not watched. */
  watchFiles?: FileWatcher | undefined;
  log: Logger;
}

/** What watches one subscribed URI. */
interface Watched {
  /** The resource that serves it (undefined: none does, for now). */
  resource: ServedResource | undefined;
  /** Ends its watching. */
  stop: AbortController;
  /** When it last notified, for bursts. */
  lastSent: number;
  /** A notification waiting for the end of a burst. */
  pending: ReturnType<typeof setTimeout> | undefined;
  /** Settles once its files are watched (never rejects). */
  ready: Promise<void>;
}

/** The resource subscriptions of one connection. */
export class ResourceUpdates {
  readonly #options: ResourceUpdatesOptions;
  readonly #watched = new Map<string, Watched>();
  #closed = false;

  constructor(options: ResourceUpdatesOptions) {
    this.#options = options;
  }

  /**
   * Watches exactly the URIs subscribed now (legacy or on a stream): starts what watches a new
   * one, stops what watched one no longer subscribed; resolves once the new ones' files are
   * watched.
   */
  sync(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const started: Promise<void>[] = []; // every wanted URI's, a new one's or not
    const wanted = this.#options.subscribed();
    for (const [uri, watched] of this.#watched) {
      if (!wanted.has(uri)) this.#stop(uri, watched);
    }
    const set = this.#options.resources();
    for (const uri of wanted) {
      const watched = this.#watched.get(uri) ??
        this.#watch(uri, set?.find(uri));
      started.push(watched.ready);
    }
    return Promise.all(started).then(() => {});
  }

  /**
   * The resources were loaded (`tell` false) or reloaded: a subscribed URI whose resource changed
   * (its file reloaded, it appeared or went away) is watched anew, and after a reload its
   * subscribers are told.
   */
  resourcesChanged(tell = true): void {
    if (this.#closed) return;
    const set = this.#options.resources();
    for (const [uri, watched] of [...this.#watched]) {
      const resource = set?.find(uri);
      if (resource === watched.resource) continue;
      this.#stop(uri, watched);
      this.#watch(uri, resource);
      if (tell) this.#changed(uri);
    }
  }

  /** Stops every watch (the connection ends). */
  close(): void {
    this.#closed = true;
    for (const [uri, watched] of this.#watched) this.#stop(uri, watched);
  }

  /** Starts watching `uri`; its `ready` settles once its files are watched. */
  #watch(uri: string, resource: ServedResource | undefined): Watched {
    const watched: Watched = {
      resource,
      stop: new AbortController(),
      lastSent: 0,
      pending: undefined,
      ready: Promise.resolve(),
    };
    this.#watched.set(uri, watched);
    if (!resource) return watched;
    const { signal } = watched.stop;
    if (resource.subscribe) {
      this.#runHook(resource, resource.subscribe, uri, signal);
    }
    const paths = watchedPaths(resource, uri);
    const { watchFiles, log } = this.#options;
    if (paths.length === 0 || !watchFiles) return watched;
    const failed = (error: unknown) => {
      if (signal.aborted) return;
      log.warn(
        `Cannot watch ${
          paths.join(", ")
        } for resource "${resource.name}" (${resource.source}); ${uri} gets no updates from them`,
        error,
      );
    };
    watched.ready = watchFiles(paths, signal).then((changes) => {
      void (async () => {
        try {
          for await (const _ of changes) {
            if (!signal.aborted) this.#changed(uri);
          }
        } catch (error) {
          failed(error);
        }
      })();
    }, failed);
    return watched;
  }

  /** Runs `resource`'s subscribe hook for `uri` until `signal` aborts. */
  #runHook(
    resource: ServedResource,
    hook: Tool,
    uri: string,
    signal: AbortSignal,
  ): void {
    const { log } = this.#options;
    const context: ToolContext = {
      signal,
      toolName: resource.name,
      log: (level, message) =>
        log.log(level, `[${resource.name}] ${String(message)}`),
      progress: () => {
        if (!signal.aborted) this.#changed(uri);
      },
      roots: () => Promise.resolve(undefined),
      client: { name: undefined, version: undefined, capabilities: {} },
      elicit: () => Promise.reject(noClient("ctx.elicit")),
      sample: () => Promise.reject(noClient("ctx.sample")),
    };
    const running = hook.remote
      ? hook.remote.run({ uri }, context)
      : Promise.resolve().then(() =>
        hook.definition.run({ uri } as never, context)
      );
    running.then(
      (result) => {
        if (signal.aborted) return;
        const failed = result && typeof result === "object" &&
          (result as { isError?: unknown }).isError === true;
        if (failed) {
          log.warn(
            `The subscribe hook of resource "${resource.name}" (${resource.source}) failed for ${uri}: ${
              textOf(result)
            }`,
          );
        }
      },
      (error) => {
        if (!signal.aborted) {
          log.warn(
            `The subscribe hook of resource "${resource.name}" (${resource.source}) failed for ${uri}`,
            error,
          );
        }
      },
    );
  }

  #stop(uri: string, watched: Watched): void {
    watched.stop.abort();
    clearTimeout(watched.pending);
    this.#watched.delete(uri);
  }

  /** `uri` changed: tells its subscribers now, or at the end of the burst it is in. */
  #changed(uri: string): void {
    const watched = this.#watched.get(uri);
    if (!watched || watched.pending !== undefined) return;
    const wait = watched.lastSent + BURST_MS - performance.now();
    const send = () => {
      watched.pending = undefined;
      if (this.#watched.get(uri) !== watched) return;
      watched.lastSent = performance.now();
      this.#options.notify(uri);
    };
    if (wait <= 0) send();
    else watched.pending = setTimeout(send, wait);
  }
}

/** The paths `resource` watches for `uri`: its `watch` with the template's variables filled. */
function watchedPaths(resource: ServedResource, uri: string): string[] {
  if (resource.watch.length === 0) return [];
  const params = resource.template?.match(uri) ?? {};
  return resource.watch.map((path) =>
    path.replace(/\{([^{}]+)\}/g, (_, name: string) => params[name] ?? "")
  );
}

/** The text of a failed run's result. */
function textOf(result: unknown): string {
  const content = (result as { content?: unknown }).content;
  if (!Array.isArray(content)) return describeError(result, 300);
  return content.map((block) =>
    typeof block?.text === "string" ? block.text : ""
  ).join("").slice(0, 300);
}

function noClient(what: string): ToolError {
  return new ToolError(
    `${what} is not available in a subscribe hook: no client request is in progress`,
  );
}
