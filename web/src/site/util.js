// Site helpers: loading a page's data with its loading and error states, and the words
// the site shows for the API's codes (zh-CN, the glossary of the requirements).
import { onMounted, ref } from "vue";
import { errorText } from "@shared/api.js";

// Runs `fetcher` when the page mounts (and on `load()`): `data`, `error` (readable text,
// never the API's JSON) and `loading` for the template.
export function useLoader(fetcher, { immediate = true } = {}) {
  const data = ref(null);
  const error = ref("");
  const loading = ref(immediate);
  async function load() {
    loading.value = true;
    error.value = "";
    try {
      data.value = await fetcher();
    } catch (caught) {
      error.value = errorText(caught);
    } finally {
      loading.value = false;
    }
  }
  if (immediate) onMounted(load);
  return { data, error, loading, load };
}

// Runs one action of a form: `busy` while it runs, `error` when it fails; answers the
// result, or undefined after a failure.
export function useAction() {
  const busy = ref(false);
  const error = ref("");
  async function run(action) {
    busy.value = true;
    error.value = "";
    try {
      return await action();
    } catch (caught) {
      error.value = errorText(caught);
      return undefined;
    } finally {
      busy.value = false;
    }
  }
  return { busy, error, run };
}

export function dateOnly(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleDateString("zh-CN");
}

export const EVENT_KINDS = {
  reunion: "集体返校聚会",
  lecture: "校友大讲堂",
  visit: "返校参观",
  chapter: "校友会活动",
  student_visit: "学子访校友",
  other: "其他活动",
};

export const EVENT_STATUS = { draft: "草稿", published: "报名中", closed: "报名截止", finished: "已结束", cancelled: "已取消" };

export const REGISTRATION_STATUS = { confirmed: "已报名", waitlisted: "候补中", cancelled: "已取消" };

export const CARD_STATUS = { applied: "审核中", active: "有效", rejected: "未通过", revoked: "已注销" };

export const DISCLOSURE = {
  full_name: "公开姓名和金额",
  amount_hidden: "公开姓名，隐藏金额",
  class_year: "只显示届别",
  anonymous: "匿名",
};

export const ORDER_STATUS = { created: "待支付", paid: "已支付", expired: "已过期" };

export const SUGGESTION_STATUS = { open: "待回复", answered: "已回复" };

export const SERVICE_KINDS = { talent_training: "人才培养", technology_consulting: "技术咨询", other: "其他" };

export const SERVICE_STATUS = { open: "已提交", assigned: "已分派", in_progress: "处理中", resolved: "已解决", closed: "已关闭" };

export const VISIT_STATUS = { requested: "待审核", approved: "已同意", declined: "未同意", done: "已完成", cancelled: "已取消" };

export const CHANNELS = { email: "电子邮件", sms: "短信", inbox: "站内消息" };

export const PURPOSES = { transactional: "事务通知（报名、收据等）", marketing: "学校动态与简报" };

export const PRIVACY_LEVELS = {
  name_only: "只显示姓名和班级",
  work: "再显示工作单位和城市",
  contacts: "再显示联系方式",
};

export const CHAPTER_REASONS = { general: "校友总会", city: "同城", industry: "同行业" };
