// @ts-check
// One lead, as its agent works it: contact details, the score and the rules that made it, status
// changes (a lost lead needs a reason), notes, follow-up tasks (add, complete), conversion to a
// client, and the timeline of every change (the lead's audit stream, newest first). The API
// decides every rule (which status may follow which, who may touch the lead); the forms show
// what it answers.

import { h } from '../../lib/dom.js';
import * as api from '../../lib/api.js';
import { AUDIT_COLUMNS } from '../../lib/audit.js';
import { form } from '../../lib/form.js';
import { badge, fact, instant, when, words } from '../../lib/format.js';
import { pagedTable, table } from '../../lib/table.js';
import { doneNotice, goSaying } from '../../lib/notice.js';
import { LEAD_STATUSES } from './leads.js';

export const title = 'Lead';

/** Where a status change can lead (conversion has its own form; nothing goes back to new). */
const MOVES = ['contacted', 'qualified', 'lost'];
const OPEN = new Set(['new', 'contacted', 'qualified']);

/** @param {import('../../routes.js').ScreenContext} ctx */
export async function render(ctx) {
  const id = ctx.params.id;
  const [lead, tasks] = await Promise.all([api.lead(id), api.leadTasks(id)]);
  const here = `#/sales/leads/${encodeURIComponent(id)}`;
  /** @param {string} what */
  const done = (what) => goSaying(ctx, here, what);
  const open = OPEN.has(lead.status);
  const name = [lead.first_name, lead.last_name].filter(Boolean).join(' ');
  const next = LEAD_STATUSES[LEAD_STATUSES.indexOf(lead.status) + 1];

  const statusForm = form({
    id: `lead-status-${id}`,
    legend: 'Change status',
    submit: 'Change status',
    fields: [
      { name: 'status', label: 'New status', type: 'select', value: MOVES.includes(next) ? next : 'lost', options: MOVES.map((s) => ({ value: s, label: words(s) })) },
      { name: 'reason', label: 'Reason', type: 'textarea', hint: 'Needed when the lead is lost.' },
    ],
    onSubmit: async (values) => {
      const changed = await api.changeLeadStatus(id, { status: values.status, reason: values.reason.trim() || undefined });
      done(`Status: ${words(changed.status).toLowerCase()}.`);
    },
  });
  const convertForm = form({
    id: `lead-convert-${id}`,
    legend: 'Convert to a client',
    submit: 'Convert to a client',
    fields: [
      { name: 'user_id', label: 'Portal user', hint: 'The portal identity the client signs in with, if they have one already (portal-ann).', autocomplete: 'off' },
    ],
    onSubmit: async (values) => {
      const client = await api.convertLead(id, { user_id: values.user_id.trim() || undefined });
      done(`Converted: client ${client.id}.`);
    },
  });
  const noteForm = form({
    id: `lead-note-${id}`,
    legend: 'Add a note',
    submit: 'Add note',
    fields: [{ name: 'text', label: 'Note', type: 'textarea', required: true }],
    onSubmit: async (values) => {
      await api.addLeadNote(id, { text: values.text });
      done('Note added.');
    },
  });
  const taskForm = form({
    id: `lead-task-${id}`,
    legend: 'Add a task',
    submit: 'Add task',
    fields: [
      { name: 'title', label: 'Task', required: true, hint: 'Call back, send documents…' },
      { name: 'due_at', label: 'Due', type: 'datetime-local' },
    ],
    onSubmit: async (values) => {
      await api.addLeadTask(id, { title: values.title, due_at: values.due_at ? instant(values.due_at) : undefined });
      done('Task added.');
    },
  });
  const reassignForm = ctx.session.roles.includes('admin')
    ? form({
        id: `lead-assign-${id}`,
        legend: 'Reassign',
        submit: 'Reassign',
        fields: [{ name: 'assignee', label: 'Agent', required: true, value: lead.assignee }],
        onSubmit: async (values) => {
          const moved = await api.reassignLead(id, { assignee: values.assignee });
          done(`Assigned to ${moved.assignee}.`);
        },
      })
    : null;

  return h(
    'section',
    { 'data-screen': 'sales-lead' },
    h('p', null, h('a', { href: '#/sales/leads' }, '← Lead pipeline')),
    h('header', { class: 'screen-head' }, h('h1', null, name), h('p', { class: 'lead' }, badge(lead.status), ` Score ${lead.score}`)),
    doneNotice(ctx),
    h(
      'div',
      { class: 'grid' },
      h(
        'div',
        { class: 'card' },
        h('h2', null, 'Contact'),
        h(
          'dl',
          { class: 'facts' },
          fact('Status', h('span', { 'data-testid': 'lead-status' }, badge(lead.status))),
          lead.lost_reason ? fact('Lost because', lead.lost_reason) : null,
          fact('Email', lead.email ?? '—'),
          fact('Phone', lead.phone ?? '—'),
          fact('Country', lead.country),
          lead.language ? fact('Language', lead.language) : null,
          fact('Agent', [h('span', { 'data-testid': 'lead-assignee' }, lead.assignee), ` (rule ${lead.assignment_rule})`]),
          fact('Came from', [lead.first_touch?.source, ...Object.values(lead.first_touch?.utm ?? {})].filter(Boolean).join(' · ')),
          lead.referral_code ? fact('Referral code', lead.referral_code) : null,
          fact('Marketing consent', lead.marketing_consent ? 'Given' : 'Not given'),
          fact('Created', when(lead.created_at)),
          lead.client_id ? fact('Client', h('span', { class: 'id', 'data-testid': 'client-id' }, lead.client_id)) : null,
        ),
      ),
      h(
        'div',
        null,
        table({
          caption: `Score ${lead.score}: why`,
          rows: lead.score_reasons,
          empty: 'No scoring rule matched this lead.',
          rowId: (r) => r.rule,
          columns: [
            { label: 'Rule', cell: (r) => words(r.rule) },
            { label: 'Points', cell: (r) => (r.points > 0 ? `+${r.points}` : String(r.points)), class: 'num' },
          ],
        }),
      ),
    ),
    open
      ? h('div', { class: 'grid' }, h('div', { class: 'card' }, statusForm), h('div', { class: 'card' }, convertForm), reassignForm ? h('div', { class: 'card' }, reassignForm) : null)
      : h('p', { class: 'hint' }, `This lead is ${lead.status}: its status no longer changes.`),
    h('h2', null, 'Tasks'),
    table({
      caption: `Tasks (${lead.open_tasks} open)`,
      rows: tasks.items,
      empty: 'No task yet: add a follow-up below.',
      rowId: (t) => t.id,
      columns: [
        { label: 'Task', cell: (t) => t.title },
        { label: 'Due', cell: (t) => when(t.due_at) || '—' },
        { label: 'Added', cell: (t) => [t.created_by, h('br'), h('span', { class: 'hint' }, when(t.created_at))] },
        { label: 'Done', cell: (t) => (t.completed_at ? ['✓ ', when(t.completed_at)] : completeButton(id, t, done)) },
      ],
    }),
    h('div', { class: 'grid' }, h('div', { class: 'card' }, taskForm), h('div', { class: 'card' }, noteForm)),
    h('h2', null, 'Timeline'),
    await pagedTable({
      caption: 'Every change to this lead, newest first',
      empty: 'Nothing happened yet.',
      load: (cursor) => api.leadTimeline(id, cursor),
      rowId: (e) => e.event_id,
      columns: AUDIT_COLUMNS,
    }),
  );
}

/**
 * @param {string} leadId @param {api.LeadTask} task @param {(what: string) => void} done
 */
function completeButton(leadId, task, done) {
  const error = h('p', { class: 'field-error', role: 'alert', hidden: true });
  const button = h('button', { type: 'button', class: 'button', 'data-action': 'complete' }, 'Complete');
  button.addEventListener('click', async () => {
    button.disabled = true;
    error.hidden = true;
    try {
      await api.completeLeadTask(leadId, task.id);
      done(`Task done: ${task.title}.`);
    } catch (failure) {
      button.disabled = false;
      error.textContent = failure instanceof Error ? failure.message : String(failure);
      error.hidden = false;
    }
  });
  return h('div', null, button, error);
}
