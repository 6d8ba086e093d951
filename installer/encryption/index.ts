/**
 * Data disk encryption: LUKS2 bound to TPM2, Tang or both (clevis), recovery
 * keys escrowed in the keystore before any disk is formatted.
 *
 *   planEncryption (pure)  facts + config -> per disk: format | rebind | configure | nothing | refuse
 *   applyEncryption        plan, check pins, escrow, format, bind, crypttab, open/mount, verify
 *   encryptionStatus       verify every disk against the config; changes nothing
 */
export { planEncryption, planHost, planProblems, planHasWork, describeContents } from './plan.ts';
export { applyEncryption, checkPinsReachable, escrowIndex, gatherAll, pinProblems } from './apply.ts';
export type { ApplyOptions, ApplyEvent, ApplyStep, ApplyReport, HostApplyResult, DiskApplyResult, DiskOutcome } from './apply.ts';
export { encryptionStatus } from './status.ts';
export type { StatusOptions, EncryptionStatusReport, HostStatus, DiskStatus } from './status.ts';
export { verifyDisk } from './verify.ts';
export type { DiskVerification, PinCheck } from './verify.ts';
export { gatherEncryptionFacts, encryptionFactsScript, parseEncryptionFacts } from './facts.ts';
export { hostEncryptionSettings, desiredBinding, recoveryKeyName, volumeName, pinCount, LUKS_SUBSYSTEM, DEFAULT_MOUNT_POINT } from './settings.ts';
export { renderPlan, renderApplyReport, renderStatus, planJson, applyReportJson } from './render.ts';
export type * from './types.ts';
