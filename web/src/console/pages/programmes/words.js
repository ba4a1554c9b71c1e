// The Chinese words of the programmes pages (projects, notifications), and a time as
// Beijing reads it.
export const PROGRAMME_WORDS = {
  projectStatus: { proposed: "筹划中", active: "进行中", suspended: "已暂停", completed: "已完成" },
  channel: { email: "电子邮件", sms: "短信", inbox: "站内信" },
  purpose: { transactional: "事务通知", marketing: "学校发展近况等通报" },
  locale: { "zh-CN": "简体中文", en: "英文" },
  messageStatus: { queued: "排队中", waiting: "等待重试", sent: "已发送", failed: "失败", skipped: "未发送" },
  consentSource: { default: "默认", paper_form: "纸质表格", event_signup: "活动报名表", import: "导入", office: "校友会办公室", self_service: "本人", unsubscribe_link: "退订链接" },
};

// The moves a project's status allows (the events service's state machine).
export const PROJECT_MOVES = {
  proposed: ["active", "suspended"],
  active: ["suspended", "completed"],
  suspended: ["active", "completed"],
  completed: [],
};

export function say(group, code) {
  if (code === null || code === undefined || code === "") return "";
  return PROGRAMME_WORDS[group]?.[code] || code;
}

export function when(instant) {
  if (!instant) return "";
  const date = new Date(instant);
  if (Number.isNaN(date.getTime())) return instant;
  return date.toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false });
}
