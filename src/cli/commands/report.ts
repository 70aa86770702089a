import { usageError } from "../../errors.js";
import type { CommandRun } from "../registry.js";

// Placeholder: being written this session.
export const run: CommandRun = async () => {
  throw usageError("not implemented yet", "");
};
