// A config with nothing in it, not even the built-in plugins: tests give every option explicitly.
export default { builtinPlugins: [] };
