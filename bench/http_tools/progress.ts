import { z } from "zod";
import { defineTool } from "tooldrop";

// The HTTP benchmark's SSE case (bench/http.ts): progress as fast as the tool can report it,
// so the figure is what delivering it costs. bench/sdk-server/server_http.mjs has the same tool.
export default defineTool({
  title: "Progress",
  description:
    'Reports progress `count` times, then returns "done". For the benchmark. Example: {"count": 100}',
  input: z.object({
    count: z.number().int().min(1).max(10000).describe(
      "How many progress updates to report",
    ),
  }),
  run: ({ count }, ctx) => {
    for (let i = 1; i <= count; i++) ctx.progress(i, count);
    return "done";
  },
});
