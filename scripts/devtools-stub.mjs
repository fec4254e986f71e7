// Stands in for react-devtools-core in the bundle: Ink loads it only for React DevTools.
export default { initialize() {}, connectToDevTools() {} };
