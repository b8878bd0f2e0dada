import { z } from "zod";
import { defineTool } from "tooldrop";

export default defineTool({
  title: "Echo",
  description:
    'Returns the given text unchanged, character for character. Useful to test that the server answers. Example: {"text": "hello"}',
  input: z.object({ text: z.string().describe("The text to send back") }),
  annotations: {
    readOnlyHint: true,
    idempotentHint: true,
    openWorldHint: false,
  },
  run: ({ text }) => text,
});
