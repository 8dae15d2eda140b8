// Webview front end. Empty until the first panel lands.
export {};
