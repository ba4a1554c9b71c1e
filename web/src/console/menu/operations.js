// Alumni, events, receptions, plans, suggestions, money, newsletters, accounts.
export const operationsPages = [];
