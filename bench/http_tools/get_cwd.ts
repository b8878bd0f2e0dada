import { defineTool } from "tooldrop";

export default defineTool({
  title: "Working directory",
  description:
    "Returns the absolute path of the server's current working directory: where relative paths are resolved. Takes no arguments.",
  annotations: {
    readOnlyHint: true,
    idempotentHint: true,
    openWorldHint: false,
  },
  run: () => Deno.cwd(),
});
