// The campaigns' operations (issue 17 §4: campaigns.html), in both modes like api.js's: the bridge's
// CampaignOperations in the desktop, /campaigns and below in a browser. The README's table lists them.

import { ApiError, bridge, mode, rest } from './api.js';
import './i18n_campaigns.js'; // the strings of whatever shows these operations

const enc = encodeURIComponent;

const desktop = {
  listCampaigns: () => bridge('list_campaigns'),
  previewCampaign: (body) => bridge('preview_campaign', body),
  createCampaign: (body) => bridge('create_campaign', body),
  getCampaign: (id) => bridge('get_campaign', id),
  pauseCampaign: (id) => bridge('pause_campaign', id),
  resumeCampaign: (id) => bridge('resume_campaign', id),
  cancelCampaign: (id) => bridge('cancel_campaign', id),
  campaignRecipients: (id, cursor = null) => bridge('campaign_recipients', id, cursor, 50),
  campaignReport: (id) => bridge('campaign_report', id),
  campaignReportCsv: (id) => bridge('campaign_report_csv', id),
  openCampaignsWindow: () => bridge('open_campaigns_window'),
};

async function csvOf(id) {
  const response = await fetch(`/campaigns/${enc(id)}/report?format=csv`, { credentials: 'same-origin' });
  if (!response.ok) throw new ApiError(`http_${response.status}`, response.statusText, {}, response.status);
  return response.text();
}

const browser = {
  listCampaigns: () => rest('GET', '/campaigns'),
  previewCampaign: (body) => rest('POST', '/campaigns/preview', body),
  createCampaign: (body) => rest('POST', '/campaigns', body),
  getCampaign: (id) => rest('GET', `/campaigns/${enc(id)}`),
  pauseCampaign: (id) => rest('POST', `/campaigns/${enc(id)}/pause`),
  resumeCampaign: (id) => rest('POST', `/campaigns/${enc(id)}/resume`),
  cancelCampaign: (id) => rest('POST', `/campaigns/${enc(id)}/cancel`),
  campaignRecipients: (id, cursor = null) => rest('GET', `/campaigns/${enc(id)}/recipients`
                                                       + (cursor ? `?cursor=${enc(cursor)}` : '')),
  campaignReport: (id) => rest('GET', `/campaigns/${enc(id)}/report`),
  campaignReportCsv: csvOf,
  openCampaignsWindow: () => {
    const opened = window.open('/ui/campaigns.html', 'zapool-campaigns');
    if (opened) opened.focus();
    return Promise.resolve();
  },
};

export const campaigns = mode === 'desktop' ? desktop : browser;
export default campaigns;
