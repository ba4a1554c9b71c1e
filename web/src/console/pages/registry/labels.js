// Status names of the registry's administration pages (the glossary's words).
export const ERASURE_STATUS = { requested: "待处理", approved: "已删除", rejected: "已拒绝" };

export const CARD_STATUS = { applied: "待审核", active: "有效", rejected: "未通过", revoked: "已吊销" };

export const STATISTICS_BY = {
  department: "院系",
  class_year: "届别",
  degree: "学历",
  province: "省份",
  city: "城市",
  industry: "行业",
};

export const VOLUNTEER_POSITION = {
  member: "成员",
  president: "会长",
  vice_president: "副会长",
  secretary: "秘书长",
  department_lead: "部长",
};
