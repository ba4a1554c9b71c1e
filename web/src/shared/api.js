// The portal's one way to the gateway: JSON in and out, the bearer token, a quiet refresh
// when the access token has expired, and the API's errors as readable Chinese text.
// Nothing here knows a page: a page calls `api`, `download` or `errorText`.

import { forgetRenewals, lastRenewal, recordRenewal } from "./store.js";

const SESSION_KEY = "alumni.session";
let refreshing = null;
let sessionExpiredHandler = () => {};

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

export function session() {
  try {
    return JSON.parse(localStorage.getItem(SESSION_KEY) || "null");
  } catch {
    return null;
  }
}

function keepSession(tokens) {
  localStorage.setItem(SESSION_KEY, JSON.stringify(tokens));
}

// Forgotten in this tab's copy at once; the promise settles once the renewals noted for
// every tab are gone too (it never rejects).
export function forgetSession() {
  localStorage.removeItem(SESSION_KEY);
  return forgetRenewals();
}

export function signedIn() {
  return Boolean(session()?.access_token);
}

// Called when the session cannot be renewed: the app sends the user to log in, and back.
export function onSessionExpired(handler) {
  sessionExpiredHandler = handler;
}

export async function login(username, password) {
  const tokens = await request("POST", "/api/v1/auth/token", { body: { username, password }, auth: false });
  keepSession(tokens);
  return tokens;
}

export async function logout() {
  try {
    if (signedIn()) await request("POST", "/api/v1/auth/logout", { retry: false });
  } finally {
    await forgetSession();
  }
}

// Renews the session after a 401 answered to `staleToken`. Concurrent 401s share one
// refresh, and so do the portal's tabs (they share the session): a refresh token works once,
// and one presented twice ends the whole session. Whoever comes second finds the session
// already renewed and uses it, though this tab's copy of it may not show that yet (store.js).
function refreshTokens(staleToken) {
  refreshing ??= acrossTabs(async () => {
    const current = session();
    if (!current?.refresh_token) return false;
    const renewal = await lastRenewal();
    if (renewal?.spent.includes(current.refresh_token)) {
      keepSession(renewal.tokens);
      return true;
    }
    if (current.access_token !== staleToken) return true;
    try {
      const tokens = await request("POST", "/api/v1/auth/refresh", {
        body: { refresh_token: current.refresh_token },
        auth: false,
      });
      keepSession(tokens);
      await recordRenewal(current.refresh_token, tokens);
      return true;
    } catch (error) {
      // Only a refused refresh ends the session. An outage (503, 504, no network) or the
      // gateway's rate limit (429) keeps it for the next try, and the page says what went
      // wrong.
      if (error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 429) {
        return false;
      }
      throw error;
    }
  }).finally(() => {
    refreshing = null;
  });
  return refreshing;
}

// One tab at a time (Web Locks; where the browser lacks them, each tab for itself).
function acrossTabs(work) {
  return navigator.locks ? navigator.locks.request("alumni.session.refresh", work) : work();
}

function url(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    for (const item of Array.isArray(value) ? value : [value]) params.append(key, item);
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function send(method, path, { body, query, headers = {}, auth = true, form } = {}) {
  const all = { Accept: "application/json", ...headers };
  const token = session()?.access_token;
  if (auth && token) all.Authorization = `Bearer ${token}`;
  let payload;
  if (form) {
    payload = form;
  } else if (body !== undefined) {
    all["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  try {
    return await fetch(url(path, query), { method, headers: all, body: payload });
  } catch {
    throw new ApiError(0, "NETWORK", "无法连接服务器，请检查网络后重试。");
  }
}

async function failure(response) {
  let error = {};
  try {
    error = (await response.json()).error || {};
  } catch {
    // Not the API's JSON (a proxy's page, say): the status alone is said.
  }
  const message = error.message || STATUS_TEXT[response.status] || `请求失败（${response.status}）。`;
  return new ApiError(response.status, error.code || "HTTP_" + response.status, message, error.details);
}

const STATUS_TEXT = {
  400: "请求有误。",
  401: "登录已失效，请重新登录。",
  403: "没有权限执行此操作。",
  404: "未找到相应内容。",
  409: "操作与当前状态冲突，请刷新后重试。",
  413: "上传的内容过大。",
  422: "填写的内容有误，请检查。",
  429: "操作过于频繁，请稍后再试。",
  503: "服务暂时不可用，请稍后再试。",
  504: "服务响应超时，请稍后再试。",
};

async function request(method, path, options = {}) {
  const { retry = true, raw = false } = options;
  const sentToken = session()?.access_token;
  let response = await send(method, path, options);
  if (response.status === 401 && options.auth !== false && retry && session()?.refresh_token) {
    if (await refreshTokens(sentToken)) {
      response = await send(method, path, options);
    }
    if (response.status === 401) {
      // Not awaited: the calls that shared the refused refresh all reach here in one turn,
      // and each handler must still see the page the user was on.
      forgetSession();
      sessionExpiredHandler();
    }
  }
  if (!response.ok) throw await failure(response);
  if (raw) return response;
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("application/json") ? response.json() : response.text();
}

// api("GET", "/api/v1/events", { query: { page: 2 } }); api("POST", path, { body, headers }).
export function api(method, path, options) {
  return request(method, path, options);
}

// A file the API answers (a receipt PDF, an export): fetched with the token, saved by name.
export async function download(path, filename, options = {}) {
  const response = await request("GET", path, { ...options, raw: true });
  const blob = await response.blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
  return blob;
}

// A file the API answers, as an object URL to show in the page (a PDF, a QR image).
export async function objectUrl(path, options = {}) {
  const response = await request("GET", path, { ...options, raw: true });
  return URL.createObjectURL(await response.blob());
}

// One readable sentence for any error a page catches: the API's own message, and for a
// 422 the fields it names.
export function errorText(error) {
  if (!(error instanceof ApiError)) return "发生了意外错误，请刷新页面后重试。";
  const fields = error.details?.fields;
  if (error.status === 422 && fields && typeof fields === "object") {
    const parts = Object.entries(fields).map(([name, messages]) => {
      const text = Array.isArray(messages) ? messages.join("；") : typeof messages === "string" ? messages : "格式不正确";
      return `${FIELD_NAMES[name] || name}：${text}`;
    });
    if (parts.length) return `${error.message} ${parts.join("；")}`;
  }
  return error.message;
}

// Field names as users read them (the glossary of ../shared/domain/REQUIREMENTS.md).
export const FIELD_NAMES = {
  name: "姓名",
  username: "用户名",
  password: "密码",
  phone: "手机号",
  email: "电子邮箱",
  amount_fen: "金额",
  class_year: "届别",
  student_number: "学号",
  department_id: "院系",
  title: "标题",
  starts_at: "开始时间",
  ends_at: "结束时间",
  capacity: "名额",
};

// Integer fen to yuan text: 12345 → "123.45".
export function yuan(fen) {
  if (fen === null || fen === undefined) return "";
  const sign = fen < 0 ? "-" : "";
  const abs = Math.abs(fen);
  return `${sign}${Math.floor(abs / 100).toLocaleString("zh-CN")}.${String(abs % 100).padStart(2, "0")}`;
}

// Yuan text typed by a user to integer fen, or null when it is not an amount.
export function fen(yuanText) {
  const match = /^\s*(\d{1,9})(?:\.(\d{1,2}))?\s*$/.exec(String(yuanText ?? ""));
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] || "0").padEnd(2, "0"));
}

export function dateTime(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString("zh-CN", { hour12: false });
}

// A fresh Idempotency-Key for one money operation (kept by the form until it succeeds).
export function idempotencyKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}
