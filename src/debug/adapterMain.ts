// Entry point for running the debug adapter as its own process (a later issue).
export {};
