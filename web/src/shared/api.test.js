// Unit tests of the API client's logic (Vitest, in Node): errors as sentences, money, and
// the quiet refresh with a fetch, a localStorage (this tab's copy of the session) and the
// renewals every tab sees (store.js, IndexedDB in a browser) played by the test.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, api, errorText, fen, session, yuan } from "./api.js";

const everyTab = vi.hoisted(() => ({ renewal: null }));
vi.mock("./store.js", () => ({
  lastRenewal: async () => everyTab.renewal,
  recordRenewal: async (spentToken, tokens) => {
    everyTab.renewal = { spent: [...(everyTab.renewal?.spent ?? []), spentToken], tokens };
  },
  forgetRenewals: async () => {
    everyTab.renewal = null;
  },
}));

describe("errorText", () => {
  it("says the API's own message", () => {
    expect(errorText(new ApiError(409, "CONFLICT", "名额已满。"))).toBe("名额已满。");
  });

  it("names the fields of a 422 as users read them", () => {
    const error = new ApiError(422, "VALIDATION", "填写的内容有误。", {
      fields: { amount_fen: ["必须大于零"], phone: "格式不正确" },
    });
    expect(errorText(error)).toBe("填写的内容有误。 金额：必须大于零；手机号：格式不正确");
  });

  it("never shows what is not an ApiError", () => {
    expect(errorText(new TypeError("x is undefined"))).toBe("发生了意外错误，请刷新页面后重试。");
    expect(errorText({ error: { code: "X" } })).not.toContain("{");
  });
});

describe("money", () => {
  it("turns fen into yuan text and back", () => {
    expect(yuan(1234567)).toBe("12,345.67");
    expect(yuan(-5)).toBe("-0.05");
    expect(fen("123.4")).toBe(12340);
    expect(fen(" 8 ")).toBe(800);
  });

  it("refuses what is not an amount", () => {
    for (const text of ["", "1.234", "-3", "1e3", "壹佰"]) expect(fen(text)).toBeNull();
  });
});

describe("requests", () => {
  let store;
  let answers;
  let sent;

  function json(status, body) {
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  }

  beforeEach(() => {
    store = new Map();
    sent = [];
    everyTab.renewal = null;
    vi.stubGlobal("localStorage", {
      getItem: (key) => store.get(key) ?? null,
      setItem: (key, value) => store.set(key, value),
      removeItem: (key) => store.delete(key),
    });
    vi.stubGlobal("navigator", {});
    vi.stubGlobal("fetch", async (path, init) => {
      sent.push({ path, authorization: init.headers.Authorization });
      return answers.shift()();
    });
  });

  afterEach(() => vi.unstubAllGlobals());

  it("renews an expired access token once and repeats the call", async () => {
    store.set("alumni.session", JSON.stringify({ access_token: "old", refresh_token: "r1" }));
    answers = [
      () => json(401, { error: { code: "UNAUTHENTICATED", message: "登录已过期。" } }),
      () => json(200, { access_token: "new", refresh_token: "r2" }),
      () => json(200, { username: "wang" }),
    ];
    expect(await api("GET", "/api/v1/me")).toEqual({ username: "wang" });
    expect(sent.map((request) => request.path)).toEqual(["/api/v1/me", "/api/v1/auth/refresh", "/api/v1/me"]);
    expect(sent[2].authorization).toBe("Bearer new");
    expect(session().refresh_token).toBe("r2");
    expect(everyTab.renewal).toEqual({ spent: ["r1"], tokens: { access_token: "new", refresh_token: "r2" } });
  });

  it("takes another tab's renewal though this tab's copy of the session has not caught up", async () => {
    store.set("alumni.session", JSON.stringify({ access_token: "old", refresh_token: "r1" }));
    everyTab.renewal = { spent: ["r1"], tokens: { access_token: "new", refresh_token: "r2" } };
    answers = [
      () => json(401, { error: { code: "UNAUTHENTICATED", message: "登录已过期。" } }),
      () => json(200, { username: "wang" }),
    ];
    expect(await api("GET", "/api/v1/me")).toEqual({ username: "wang" });
    // The spent refresh token r1 is never presented again: that would end the session.
    expect(sent.map((request) => request.path)).toEqual(["/api/v1/me", "/api/v1/me"]);
    expect(sent[1].authorization).toBe("Bearer new");
    expect(session().refresh_token).toBe("r2");
  });

  it("keeps the session when the refresh is rate limited", async () => {
    store.set("alumni.session", JSON.stringify({ access_token: "old", refresh_token: "r1" }));
    answers = [
      () => json(401, { error: { code: "UNAUTHENTICATED", message: "登录已过期。" } }),
      () => json(429, { error: { code: "RATE_LIMITED", message: "请求过于频繁，请 2 秒后再试。" } }),
    ];
    const error = await api("GET", "/api/v1/me").catch((caught) => caught);
    expect(error.status).toBe(429);
    expect(session().refresh_token).toBe("r1");
  });

  it("keeps the session when the refresh meets an outage, and says so", async () => {
    store.set("alumni.session", JSON.stringify({ access_token: "old", refresh_token: "r1" }));
    answers = [
      () => json(401, { error: { code: "UNAUTHENTICATED", message: "登录已过期。" } }),
      () => json(504, { error: { code: "SERVICE_TIMEOUT", message: "依赖的服务应答超时。" } }),
    ];
    const error = await api("GET", "/api/v1/me").catch((caught) => caught);
    expect(errorText(error)).toBe("依赖的服务应答超时。");
    expect(session().refresh_token).toBe("r1");
  });

  it("ends the session when the refresh is refused", async () => {
    store.set("alumni.session", JSON.stringify({ access_token: "old", refresh_token: "r1" }));
    everyTab.renewal = { spent: ["r0"], tokens: { access_token: "old", refresh_token: "r1" } };
    answers = [
      () => json(401, { error: { code: "UNAUTHENTICATED", message: "登录已过期。" } }),
      () => json(401, { error: { code: "UNAUTHENTICATED", message: "刷新令牌已失效。" } }),
    ];
    const error = await api("GET", "/api/v1/me").catch((caught) => caught);
    expect(error.status).toBe(401);
    expect(session()).toBeNull();
    expect(everyTab.renewal).toBeNull();
  });

  it("turns a proxy's page into a sentence by its status", async () => {
    answers = [() => new Response("<html>502 Bad Gateway</html>", { status: 502 })];
    const error = await api("GET", "/api/v1/events").catch((caught) => caught);
    expect(errorText(error)).toBe("请求失败（502）。");
  });
});
