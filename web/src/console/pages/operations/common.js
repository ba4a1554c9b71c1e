// Helpers shared by the console's operations pages: the departments' names and the Chinese
// words for the API's codes (the lists and the calling account: web/src/console/common/).
import { ref } from "vue";
import { FIELD_NAMES } from "@shared/api.js";
import { allItems } from "../../common/lists.js";

// The fields these pages send, named as users read them in a 422's message (errorText reads
// FIELD_NAMES; the shared file names the common ones).
Object.assign(FIELD_NAMES, {
  owner: "负责人账号", assignee: "经办人账号", host: "接待人", visit_date: "来访日期", group_size: "人数",
  purpose: "目的", subject: "主题", body: "正文", answer: "答复", note: "说明", notes: "接待情况",
  reason: "原因", summary: "概述", attendance: "出席人数", token: "签到码", venue: "地点", kind: "类型",
  registration_opens_at: "报名开始", registration_closes_at: "报名截止", goal_fen: "目标金额",
  allocations: "基金分配", channel: "捐赠方式", received_on: "到账日期", refunded_on: "退款日期",
  receipt_name: "收据抬头", year: "年度", due_date: "截止日期", segment: "发送对象", channels: "渠道",
  send_at: "发送时间", role: "角色", company: "单位", description: "需求描述", donor: "捐赠人",
  "Idempotency-Key": "请求编号",
});

const departments = ref([]);
let departmentsLoaded = null;

// The departments (id → name), read once per console session.
export function useDepartments() {
  departmentsLoaded ??= allItems("/api/v1/departments")
    .then((items) => {
      departments.value = items;
    })
    .catch(() => {
      departmentsLoaded = null;
    });
  return {
    departments,
    departmentName(id) {
      if (!id) return "";
      return departments.value.find((item) => item.id === id)?.name || id;
    },
  };
}

// The API's codes in the words of the glossary (../shared/domain/REQUIREMENTS.md).
export const WORDS = {
  eventKind: { reunion: "集体返校聚会", lecture: "校友大讲堂", visit: "校友返校", chapter: "校友会活动", student_visit: "学子访校友", other: "其他" },
  eventStatus: { draft: "草稿", published: "已发布", closed: "报名截止", finished: "已结束", cancelled: "已取消" },
  organiserType: { office: "校友会办公室", department: "系（院）", chapter: "校友会" },
  registrationStatus: { confirmed: "已确认", waitlisted: "候补", cancelled: "已取消" },
  visitStatus: { requested: "待审批", approved: "已批准", declined: "已谢绝", done: "已接待", cancelled: "已取消" },
  taskStatus: { assigned: "已布置", checked: "已检查", done: "已完成" },
  suggestionStatus: { open: "待答复", answered: "已答复" },
  requestStatus: { open: "待处理", assigned: "已指派", in_progress: "处理中", resolved: "已解决", closed: "已关闭" },
  requestKind: { talent_training: "人才培养", technology_consulting: "技术咨询", other: "其他" },
  fundKind: { general: "综合", scholarship: "奖助学金", entrepreneurship: "创业基金", naming: "冠名", tree: "认养花木", other: "其他" },
  fundStatus: { open: "开放", closed: "已关闭" },
  channel: { bank_transfer: "银行转账", cash: "现金", cheque: "支票", online: "在线支付" },
  giftType: { donation: "捐赠", membership_fee: "会费", sponsorship: "赞助" },
  donorType: { alumnus: "校友", organisation: "单位", anonymous: "匿名" },
  disclosure: { full_name: "公开姓名", amount_hidden: "公开姓名、隐藏金额", class_year: "仅显示届别", anonymous: "匿名" },
  newsletterStatus: { draft: "草稿", scheduled: "定时发送", sending: "发送中", sent: "已发送" },
  channelName: { email: "电子邮件", sms: "短信", in_app: "站内消息", wechat: "微信" },
  role: { office: "校友会办公室", committee: "校友工作委员会", liaison: "校友工作联络员", chapter_officer: "校友会负责人", messenger: "校友信使", alumnus: "校友" },
  degree: { associate: "专科", bachelor: "本科", master: "硕士", doctor: "博士", other: "其他" },
  gender: { male: "男", female: "女", unknown: "未知" },
  historySource: { office: "校友会办公室", liaison: "联络员", self_service: "本人", import: "导入" },
  field: {
    name: "姓名", gender: "性别", birth_date: "出生日期", phone: "手机号", email: "电子邮箱", wechat: "微信",
    province: "省份", city: "城市", employer: "工作单位", industry: "行业", title: "职务", tags: "标签",
    graduations: "学历信息",
  },
};

export function word(group, code) {
  if (code === null || code === undefined || code === "") return "";
  return WORDS[group]?.[code] || code;
}

// A Beijing calendar date (YYYY-MM-DD) of today, for date fields' defaults.
export function today() {
  return new Date(Date.now() + 8 * 3600 * 1000).toISOString().slice(0, 10);
}

// A `datetime-local` input's value (the browser's local time) as an ISO instant, or
// undefined when empty.
export function isoFromLocal(value) {
  if (!value) return undefined;
  const instant = new Date(value);
  return Number.isNaN(instant.getTime()) ? value : instant.toISOString();
}
