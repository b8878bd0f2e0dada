/**
 * @module
 * The benchmark's client: the JSON-RPC child client `doctor` uses (src/cli/rpc_child.ts, which
 * records when each reply line arrives before parsing it, so parsing a 50 MiB reply is not
 * charged to the server), plus what only the benchmark measures: peak memory and time to exit.
 * Every wait has a deadline; a server that misses one is reported, never waited on forever.
 */

import { RpcChild } from "../src/cli/rpc_child.ts";

export { type Arrival, deadline } from "../src/cli/rpc_child.ts";

/** One server process under test. */
export class RpcProcess extends RpcChild {
  /** Spawns `command` (the program, then its arguments) in `cwd`. */
  constructor(command: readonly string[], cwd: string) {
    super(command[0]!, { args: command.slice(1), cwd });
  }

  /** Peak resident memory of the process and its descendants, in KiB (Linux; 0 elsewhere). */
  peakRssKiB(): Promise<number> {
    return treePeakRssKiB(this.pid);
  }

  /** Closes stdin and measures how long the process takes to exit; kills it past `ms`. */
  async closeAndExit(ms: number): Promise<{ code: number; ms: number }> {
    const exit = await this.close(ms);
    if (!exit.exited) throw new Error(`did not exit within ${ms} ms of EOF`);
    return { code: exit.code, ms: exit.ms };
  }
}

/** Peak resident memory of process `pid` and its descendants, in KiB (Linux; 0 elsewhere). */
export async function treePeakRssKiB(pid: number): Promise<number> {
  let total = 0;
  for (const each of await tree(pid)) {
    try {
      const status = await Deno.readTextFile(`/proc/${each}/status`);
      total += Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      // gone, or not Linux
    }
  }
  return total;
}

async function tree(pid: number): Promise<number[]> {
  const pids = [pid];
  try {
    for await (const task of Deno.readDir(`/proc/${pid}/task`)) {
      const children = await Deno.readTextFile(
        `/proc/${pid}/task/${task.name}/children`,
      );
      for (const child of children.trim().split(/\s+/).filter(Boolean)) {
        pids.push(...await tree(Number(child)));
      }
    }
  } catch {
    // not Linux, or the process is gone
  }
  return pids;
}
