// Replaced by the lab: brings up one shared lab for all lab tests in a run.
export default async function setup(): Promise<void> {}
