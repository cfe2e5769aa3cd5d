export { runCli, helpText, COMMANDS, type CliContext } from './cli';
export { createOutput, type Output } from './output';
export { EXIT, CliError, parseTime } from './cli-errors';
export { whoCan, why, type WhoCanReport, type WhyReport, type AuditSubject } from './audit';
export { scanText, type ScanFinding } from './scan';
export { foldUntil } from './fold';
export { runAllMigrations } from './migrate';
