// Status and kind names as staff read them (the glossary of ../shared/domain/REQUIREMENTS.md),
// and small pure helpers of the stewardship pages (no Vue, no fetch: testable alone).

export const IMPORT_STATUS = {
  queued: "排队中",
  parsing: "读取中",
  applying: "写入中",
  done: "已完成",
  rejected: "文件被拒",
  failed: "失败",
};

export const ROW_STATUS = { valid: "可导入", refused: "有问题", applied: "已导入", existing: "已存在" };

export const CHANGE_STATUS = { pending: "待审核", approved: "已通过", rejected: "已驳回" };

export const CHAPTER_KIND = { general: "校友总会", regional: "地方校友分会", industry: "行业校友分会" };

export const MEMBER_ROLE = { member: "会员", officer: "负责人", volunteer: "积极分子" };

export const ENTRY_STATUS = { nominated: "已提名", approved: "已入档", rejected: "未通过" };

export const INTERACTION_KIND = { visit: "走访", call: "电话", service: "服务", gift_noted: "捐赠记录" };

export const STORY_STATUS = { draft: "草稿", reviewed: "已审核", published: "已发布", withdrawn: "已撤回" };

export const NEWS_STATUS = { submitted: "待处理", accepted: "已采用", dismissed: "未采用" };

export function label(map, key) {
  return map[key] || key || "";
}

// Is an import job still working (the page keeps polling while it is)?
export function importRunning(job) {
  return Boolean(job) && !["done", "rejected", "failed"].includes(job.status);
}

// The registry writes provinces in full ("山东省", "广西壮族自治区"); the map's GeoJSON names
// them short ("山东", "广西"). One rule for both, so counts land on the right shape.
const PROVINCE_SUFFIXES = ["壮族自治区", "回族自治区", "维吾尔自治区", "特别行政区", "自治区", "省", "市"];

export function shortProvince(name) {
  const text = String(name || "").trim();
  for (const suffix of PROVINCE_SUFFIXES) {
    if (text.length > suffix.length + 1 && text.endsWith(suffix)) return text.slice(0, -suffix.length);
  }
  return text;
}

// Per-cent text of a ratio (0.1234 → "12.3%"), empty for none.
export function percent(ratio) {
  if (ratio === null || ratio === undefined || Number.isNaN(ratio)) return "";
  return `${(ratio * 100).toFixed(1)}%`;
}
