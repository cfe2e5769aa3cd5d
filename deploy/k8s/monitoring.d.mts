// Types for monitoring.mjs (plain JavaScript so that it runs without a build).
export function monitoringManifest(): string;
