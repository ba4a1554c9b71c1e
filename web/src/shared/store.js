// The last renewal of the session, as every tab sees it at the same moment (api.js's quiet
// refresh reads it under the refresh lock).
//
// Pages read the session from localStorage, synchronously, but what a tab reads there is its
// own copy, which another tab's write reaches a moment later: Chromium keeps a copy per
// renderer process and updates it by message, and the HTML standard promises nothing across
// tabs (whatwg/html#403). A tab granted the refresh lock just after another tab renewed can
// still read the refresh token that tab spent, and presenting it again ends the session.
// IndexedDB is one store whose transactions the browser runs in order: a read begun after
// another tab's write completed sees that write. So the tab that renews notes here which
// refresh tokens are spent and what replaced them.

const DATABASE = "alumni";
const STORE = "session";
const KEY = "renewal";
// Spent refresh tokens remembered: a tab's copy lags by moments, renewals are minutes apart.
const SPENT_KEPT = 5;
let opened = null;

function database() {
  opened ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opened;
}

async function transact(mode, work) {
  if (typeof indexedDB === "undefined") return undefined;
  const db = await database();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(STORE, mode);
    let result;
    work(transaction.objectStore(STORE), (value) => {
      result = value;
    });
    // Settled once committed, and api.js releases the lock only after that.
    transaction.oncomplete = () => resolve(result);
    transaction.onerror = transaction.onabort = () => reject(transaction.error);
  });
}

// `{spent: [refresh tokens], tokens}`: the tokens that replaced the spent ones; null when
// none is known (no renewal yet, signed out, or no IndexedDB in this browser).
export async function lastRenewal() {
  try {
    return (
      (await transact("readonly", (store, answer) => {
        const read = store.get(KEY);
        read.onsuccess = () => answer(read.result);
      })) ?? null
    );
  } catch {
    return null;
  }
}

export async function recordRenewal(spentToken, tokens) {
  try {
    await transact("readwrite", (store) => {
      const read = store.get(KEY);
      read.onsuccess = () => {
        const spent = [...(read.result?.spent ?? []), spentToken].slice(-SPENT_KEPT);
        store.put({ spent, tokens }, KEY);
      };
    });
  } catch {
    // A browser that refuses IndexedDB (some private modes): the tabs still take turns.
  }
}

export async function forgetRenewals() {
  try {
    await transact("readwrite", (store) => store.delete(KEY));
  } catch {
    // As above: nothing was kept.
  }
}
