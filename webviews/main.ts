// Webview front end. Empty until the first panel lands (see design.md roadmap).
export {};
