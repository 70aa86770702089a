/**
 * Commands that edit rekey's own record fields (schedule, scripts) work on the local vault only: on a Keeper
 * vault those fields are set in Keeper, where the gateway reads them. Refused before anything opens, with the
 * field to set instead.
 */
import { usageError } from "../errors.js";
import { DEFAULT_SCHEDULE_LABEL, SCHEDULE_FIELD_TYPE, SCHEDULE_LABEL } from "../gateway/schedule-field.js";
import { SCRIPT_FIELD_TYPE, SCRIPTS_LABEL } from "../gateway/scripts.js";
import { resolveVaultLocation } from "../stores/open.js";

const WHERE = {
  schedule: `set the schedule on the record in Keeper: a custom field of type "${SCHEDULE_FIELD_TYPE}" labelled "${SCHEDULE_LABEL}" on the PAM User record (or "${DEFAULT_SCHEDULE_LABEL}" on its PAM configuration), which rekey gateway reads`,
  scripts: `attach post-rotation scripts to the record in Keeper: rekey gateway reads the record's "${SCRIPTS_LABEL}" field (type "${SCRIPT_FIELD_TYPE}") and that of its PAM configuration`,
} as const;

/** @throws usage error when REKEY_VAULT names a Keeper vault. */
export function refuseKeeperVault(env: NodeJS.ProcessEnv, command: string, what: keyof typeof WHERE): void {
  if (resolveVaultLocation(env).backend !== "keeper") return;
  throw usageError(
    `${command} works only on rekey's local vault, and REKEY_VAULT names a Keeper vault`,
    WHERE[what],
  );
}
