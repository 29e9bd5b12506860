const loaded = new Map<string, Promise<any>>();

/**
 * Imports an optional peer dependency the first time a feature needs it, so the main entry loads
 * without it. A missing package rejects with a message that names it and the feature.
 */
export function importOptionalPeer<T = any>(name: string, feature: string): Promise<T> {
  let module = loaded.get(name);
  if (!module) {
    module = import(name).catch((error: unknown) => {
      loaded.delete(name);
      throw new Error(`${feature} needs the optional peer dependency "${name}": npm install ${name}`, { cause: error });
    });
    loaded.set(name, module);
  }
  return module;
}
