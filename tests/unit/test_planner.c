/* Table-driven tests of templates, roster and assignment (DESIGN §5):
 * the right template and manager per persona, capacity, load balancing,
 * determinism, extension, and loader errors naming file:line: key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "planner.h"
#include "schedule.h"

#define DAY_MS (86400LL * 1000)

static char tmpl_path[1024], roster_path[1024];
static pd_catalog_t *cat;
static int64_t t0; /* 2024-03-01T10:00:00Z */

static int group_setup(void **state)
{
        const char *dir = getenv("PD_SOURCE_DIR");
        char err[512] = "";
#ifdef PD_SOURCE_DIR
        if (!dir)
                dir = PD_SOURCE_DIR; /* CMake's compile definition */
#endif
        if (!dir)
                dir = ".";
        snprintf(tmpl_path, sizeof(tmpl_path), "%s/model/plan-templates.json",
                 dir);
        snprintf(roster_path, sizeof(roster_path), "%s/model/roster.json", dir);
        pd_schedule_parse("2024-03-01T10:00:00Z", &t0);
        if (pd_catalog_load(tmpl_path, roster_path, &cat, err, sizeof(err))) {
                fprintf(stderr, "catalog: %s\n", err);
                return -1;
        }
        return 0;
}

static int group_teardown(void **state)
{
        pd_catalog_destroy(cat);
        return 0;
}

struct sale_in {
        pd_axis_t persona;
        const char *products[4];
        const char *region, *country, *tz, *language;
};

static void make(pd_arena_t *arena, const struct sale_in *in,
                 const char *customer, pd_marker_t *marker, pd_event_t *ev)
{
        memset(marker, 0, sizeof(*marker));
        memset(ev, 0, sizeof(*ev));
        marker->customer_id = customer;
        marker->dominant = in->persona;
        marker->margin = 0.3;
        marker->language = in->language;
        ev->event_id = "11111111-1111-1111-1111-111111111111";
        ev->customer_id = customer;
        ev->occurred_at = t0;
        ev->kind = PD_EV_SALE_CLOSED;
        ev->u.sale.deal_id = "D-1";
        ev->u.sale.products.v =
            pd_arena_alloc(arena, 4 * sizeof(*ev->u.sale.products.v));
        for (size_t i = 0; i < 4 && in->products[i]; i++)
                ev->u.sale.products.v[ev->u.sale.products.n++] =
                    in->products[i];
        ev->u.sale.region = in->region;
        ev->u.sale.country = in->country;
        ev->u.sale.time_zone = in->tz;
}

static const char *member(const pd_plan_t *plan, const char *role)
{
        for (size_t i = 0; i < plan->n_team; i++)
                if (!strcmp(plan->team[i].role, role))
                        return plan->team[i].name;
        return NULL;
}

static bool has(const pd_strs_t *strs, const char *s)
{
        for (size_t i = 0; i < strs->n; i++)
                if (!strcmp(strs->v[i], s))
                        return true;
        return false;
}

/* ---- one sale per persona -------------------------------------------- */

struct assign_case {
        const char *name;
        struct sale_in in;
        const char *template_id;
        const char *pm;
        const char *attendee;  /* an attendee the persona needs */
        const char *team_role; /* a role the persona needs */
        int32_t last_day;      /* last milestone offset */
};

static const struct assign_case assign_cases[] = {
    {"simplicity, East US",
     {PD_AXIS_SIMPLICITY,
      {"GTX Basic"},
      "East",
      "US",
      "America/New_York",
      NULL},
     "simplicity-30-60-90",
     "Hannah Whitfield",
     "support_centre_lead",
     "support_centre_lead",
     90},
    {"marketing, West US",
     {PD_AXIS_MARKETING,
      {"MG Advanced"},
      "West",
      "US",
      "America/Los_Angeles",
      NULL},
     "marketing-design-led",
     "Sofia Marchetti",
     "ui_designer",
     "ux_researcher",
     100},
    {"technical, Central US",
     {PD_AXIS_TECHNICAL,
      {"GTX Pro", "GTK 500"},
      "Central",
      "US",
      "America/Chicago",
      NULL},
     "technical-integration",
     "Marcus Oyelaran",
     "integration_developer",
     "solutions_architect",
     105},
    {"technical, CRM spelling GTXPro",
     {PD_AXIS_TECHNICAL, {"GTXPro"}, "Central", "US", "America/Chicago", NULL},
     "technical-integration",
     "Marcus Oyelaran",
     "integration_developer",
     "integration_developer",
     105},
    {"consulting, UK SaaS",
     {PD_AXIS_CONSULTING, {"Enterprise"}, NULL, "UK", "Europe/London", NULL},
     "consulting-benchmark",
     "Charlotte Bennett",
     "senior_consultant",
     "senior_consultant",
     90},
    {"technical, DE SaaS (German speaker)",
     {PD_AXIS_TECHNICAL,
      {"Pro", "Enterprise"},
      NULL,
      "DE",
      "Europe/Berlin",
      NULL},
     "technical-integration",
     "Jonas Keller",
     "integration_developer",
     "implementation_consultant",
     105},
    {"marketing, FR SaaS",
     {PD_AXIS_MARKETING, {"Pro"}, NULL, "FR", "Europe/Paris", "fr"},
     "marketing-design-led",
     "Camille Laurent",
     "ui_designer",
     "ui_designer",
     100},
    {"simplicity, AU SaaS",
     {PD_AXIS_SIMPLICITY, {"Basic"}, NULL, "AU", "Australia/Sydney", NULL},
     "simplicity-30-60-90",
     "Olivia Nguyen",
     "onboarding_specialist",
     "customer_success_manager",
     90},
    {"simplicity, IN SaaS: regional pull beats a higher skill",
     {PD_AXIS_SIMPLICITY, {"Basic"}, NULL, "IN", "Asia/Kolkata", NULL},
     "simplicity-30-60-90",
     "Rajesh Iyer",
     "project_manager",
     "onboarding_specialist",
     90},
    {"consulting, West US big deal",
     {PD_AXIS_CONSULTING,
      {"GTK 500", "GTX Plus Pro"},
      "West",
      "US",
      "America/Los_Angeles",
      NULL},
     "consulting-benchmark",
     "Victor Alvarez",
     "senior_consultant",
     "implementation_consultant",
     90},
};

static void test_assign_table(void **state)
{
        for (size_t i = 0; i < sizeof(assign_cases) / sizeof(assign_cases[0]);
             i++) {
                const struct assign_case *c = &assign_cases[i];
                pd_arena_t arena;
                pd_marker_t marker;
                pd_event_t ev;
                pd_pstate_t ps = {.partition = 0};
                pd_plan_t plan = {0};
                pd_arena_init(&arena);
                make(&arena, &c->in, "C-1", &marker, &ev);
                assert_int_equal(
                    pd_planner_assign(cat, &marker, &ev, &ps, 1, &arena, &plan),
                    PD_OK);
                if (strcmp(plan.template_id, c->template_id) ||
                    strcmp(plan.project_manager, c->pm))
                        fail_msg("%s: got %s / %s, want %s / %s\nreason: %s",
                                 c->name, plan.template_id,
                                 plan.project_manager, c->template_id, c->pm,
                                 plan.reason);
                assert_int_equal(plan.persona, c->in.persona);
                assert_string_equal(plan.customer_id, "C-1");
                assert_int_equal(plan.assigned_at, t0);
                assert_false(plan.extends);
                assert_true(has(&plan.attendees, c->attendee));
                assert_string_equal(member(&plan, "project_manager"), c->pm);
                assert_non_null(member(&plan, c->team_role));
                assert_true(plan.n_milestones >= 4);
                assert_int_equal(plan.milestones[0].due_at, t0);
                assert_int_equal(plan.milestones[plan.n_milestones - 1].due_at,
                                 t0 + c->last_day * DAY_MS);
                for (size_t m = 0; m < plan.n_milestones; m++)
                        assert_non_null(
                            member(&plan, plan.milestones[m].owner_role));
                assert_non_null(strstr(plan.reason, c->pm));
                assert_non_null(strstr(plan.reason, c->template_id));
                assert_int_equal(ps.n_loads, 1);
                assert_string_equal(ps.loads[0].pm, c->pm);
                assert_int_equal(ps.loads[0].active, 1);
                pd_arena_term(&arena);
        }
}

static void test_simplicity_plan_shape(void **state)
{
        static const struct {
                const char *owner;
                int32_t day;
        } want[] = {
            {"project_manager", 0},           {"support_centre_lead", 0},
            {"onboarding_specialist", 7},     {"onboarding_specialist", 30},
            {"customer_success_manager", 60}, {"project_manager", 90}};
        pd_arena_t arena;
        pd_marker_t marker;
        pd_event_t ev;
        pd_pstate_t ps = {0};
        pd_plan_t plan = {0};
        pd_arena_init(&arena);
        make(&arena, &assign_cases[0].in, "C-1", &marker, &ev);
        assert_int_equal(
            pd_planner_assign(cat, &marker, &ev, &ps, 1, &arena, &plan), PD_OK);
        assert_int_equal(plan.n_milestones, 6);
        for (size_t i = 0; i < 6; i++) {
                assert_string_equal(plan.milestones[i].owner_role,
                                    want[i].owner);
                assert_int_equal(plan.milestones[i].due_at,
                                 t0 + want[i].day * DAY_MS);
                assert_false(plan.milestones[i].fired);
        }
        assert_non_null(strstr(plan.milestones[0].name, "30-60-90"));
        pd_arena_term(&arena);
}

/* ---- capacity and load ------------------------------------------------- */

static const char *assign_pm(pd_arena_t *arena, const struct sale_in *in,
                             const char *customer, pd_pstate_t *ps,
                             int32_t partitions, const char **reason)
{
        pd_marker_t marker;
        pd_event_t ev;
        pd_plan_t plan = {0};
        make(arena, in, customer, &marker, &ev);
        assert_int_equal(
            pd_planner_assign(cat, &marker, &ev, ps, partitions, arena, &plan),
            PD_OK);
        if (reason)
                *reason = plan.reason;
        return plan.project_manager;
}

static int32_t load(const pd_pstate_t *ps, const char *pm)
{
        for (size_t i = 0; i < ps->n_loads; i++)
                if (!strcmp(ps->loads[i].pm, pm))
                        return ps->loads[i].active;
        return 0;
}

/* Hannah has capacity 80: over 100 partitions that is 1 plan per partition. */
static void test_capacity_respected(void **state)
{
        pd_arena_t arena;
        pd_pstate_t ps = {.partition = 7};
        const char *reason;
        pd_arena_init(&arena);
        const struct sale_in *in = &assign_cases[0].in;
        assert_string_equal(assign_pm(&arena, in, "C-1", &ps, 100, &reason),
                            "Hannah Whitfield");
        assert_non_null(strstr(reason, "load 1/1 on partition 7"));
        assert_string_equal(assign_pm(&arena, in, "C-2", &ps, 100, &reason),
                            "Daniel Okafor");
        assert_null(strstr(reason, "over capacity"));
        assert_int_equal(load(&ps, "Hannah Whitfield"), 1);
        assert_int_equal(load(&ps, "Daniel Okafor"), 1);
        /* a plan closes: Hannah is free again */
        pd_planner_release(&ps, "Hannah Whitfield");
        assert_string_equal(assign_pm(&arena, in, "C-3", &ps, 100, NULL),
                            "Hannah Whitfield");
        pd_arena_term(&arena);
}

static void test_over_capacity(void **state)
{
        pd_arena_t arena;
        pd_pm_load_t full[12];
        static const char *const names[12] = {
            "Hannah Whitfield", "Marcus Oyelaran",   "Sofia Marchetti",
            "Rajesh Iyer",      "Charlotte Bennett", "Jonas Keller",
            "Camille Laurent",  "Olivia Nguyen",     "Ethan Tremblay",
            "Daniel Okafor",    "Grace Kim",         "Victor Alvarez"};
        for (size_t i = 0; i < 12; i++)
                full[i] = (pd_pm_load_t){names[i], 1};
        pd_pstate_t ps = {.loads = full, .n_loads = 12};
        const char *reason;
        pd_arena_init(&arena);
        const struct sale_in *in = &assign_cases[0].in;
        /* every manager at 1 of 1: the best fit still gets it */
        assert_string_equal(assign_pm(&arena, in, "C-1", &ps, 1000, &reason),
                            "Hannah Whitfield");
        assert_non_null(strstr(reason, "over capacity"));
        assert_int_equal(load(&ps, "Hannah Whitfield"), 2);
        /* Hannah is now the most over-loaded */
        assert_string_equal(assign_pm(&arena, in, "C-2", &ps, 1000, &reason),
                            "Daniel Okafor");
        assert_non_null(strstr(reason, "over capacity"));
        /* the caller's array was never written */
        for (size_t i = 0; i < 12; i++)
                assert_int_equal(full[i].active, 1);
        assert_ptr_not_equal(ps.loads, full);
        pd_arena_term(&arena);
}

/* Rajesh (fit 7.0, capacity 120) and Hannah (6.8, capacity 80) are within
 * the tolerance for an Indian SaaS customer; Olivia (6.4) is not. */
static void test_load_balancing(void **state)
{
        static const char *const want[] = {"Rajesh Iyer", "Hannah Whitfield",
                                           "Rajesh Iyer", "Hannah Whitfield",
                                           "Rajesh Iyer", "Rajesh Iyer"};
        pd_arena_t arena;
        pd_pstate_t ps = {0};
        pd_arena_init(&arena);
        const struct sale_in *in = &assign_cases[8].in;
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
                const char *reason;
                const char *pm = assign_pm(&arena, in, "C-1", &ps, 1, &reason);
                if (strcmp(pm, want[i]))
                        fail_msg("sale %zu: got %s want %s (%s)", i, pm,
                                 want[i], reason);
                assert_non_null(strstr(reason, "least loaded"));
        }
        assert_int_equal(load(&ps, "Rajesh Iyer"), 4);
        assert_int_equal(load(&ps, "Hannah Whitfield"), 2);
        assert_int_equal(load(&ps, "Olivia Nguyen"), 0);
        pd_arena_term(&arena);
}

static void test_deterministic(void **state)
{
        pd_arena_t a1, a2;
        pd_marker_t m1, m2;
        pd_event_t e1, e2;
        pd_pm_load_t loads[] = {{"Marcus Oyelaran", 3}, {"Victor Alvarez", 1}};
        pd_pstate_t p1 = {.loads = loads, .n_loads = 2};
        pd_pstate_t p2 = p1;
        pd_plan_t x = {0}, y = {0};
        pd_arena_init(&a1);
        pd_arena_init(&a2);
        make(&a1, &assign_cases[2].in, "C-42", &m1, &e1);
        make(&a2, &assign_cases[2].in, "C-42", &m2, &e2);
        assert_int_equal(pd_planner_assign(cat, &m1, &e1, &p1, 4, &a1, &x),
                         PD_OK);
        assert_int_equal(pd_planner_assign(cat, &m2, &e2, &p2, 4, &a2, &y),
                         PD_OK);
        assert_string_equal(x.project_manager, y.project_manager);
        assert_string_equal(x.reason, y.reason);
        assert_int_equal(x.n_team, y.n_team);
        for (size_t i = 0; i < x.n_team; i++) {
                assert_string_equal(x.team[i].role, y.team[i].role);
                assert_string_equal(x.team[i].name, y.team[i].name);
        }
        assert_int_equal(x.n_milestones, y.n_milestones);
        for (size_t i = 0; i < x.n_milestones; i++)
                assert_int_equal(x.milestones[i].due_at,
                                 y.milestones[i].due_at);
        assert_int_equal(p1.n_loads, 2);
        assert_int_equal(load(&p1, "Marcus Oyelaran"), 4);
        assert_int_equal(loads[0].active, 3);
        /* Marcus keeps his own architect; the developer comes from the pool */
        assert_string_equal(member(&x, "solutions_architect"), "Samuel Park");
        pd_arena_term(&a1);
        pd_arena_term(&a2);
}

static void test_release(void **state)
{
        pd_pm_load_t loads[] = {{"A", 2}, {"B", 0}};
        pd_pstate_t ps = {.loads = loads, .n_loads = 2};
        pd_planner_release(&ps, "A");
        assert_int_equal(loads[0].active, 1);
        pd_planner_release(&ps, "B");
        assert_int_equal(loads[1].active, 0);
        pd_planner_release(&ps, "nobody");
        pd_planner_release(&ps, NULL);
        assert_int_equal(loads[0].active, 1);
}

static void test_invalid_input(void **state)
{
        pd_arena_t arena;
        pd_marker_t marker;
        pd_event_t ev;
        pd_pstate_t ps = {0};
        pd_plan_t plan = {0};
        pd_arena_init(&arena);
        make(&arena, &assign_cases[0].in, "C-1", &marker, &ev);
        marker.dominant = PD_AXIS__CNT;
        assert_int_equal(
            pd_planner_assign(cat, &marker, &ev, &ps, 1, &arena, &plan),
            PD_ERR_INVALID);
        marker.dominant = PD_AXIS_TECHNICAL;
        ev.kind = PD_EV_TICKET_OPENED;
        assert_int_equal(
            pd_planner_assign(cat, &marker, &ev, &ps, 1, &arena, &plan),
            PD_ERR_INVALID);
        assert_int_equal(ps.n_loads, 0);
        ev.kind = PD_EV_SALE_CLOSED;
        assert_int_equal(pd_planner_extend(cat, &marker, &ev, &arena, &plan),
                         PD_ERR_INVALID); /* no active plan */
        pd_arena_term(&arena);
}

/* ---- extension ---------------------------------------------------------- */

static void test_extend(void **state)
{
        pd_arena_t arena;
        pd_marker_t marker;
        pd_event_t ev;
        pd_pstate_t ps = {0};
        pd_plan_t first = {0}, ext = {0};
        pd_arena_init(&arena);
        make(&arena, &assign_cases[5].in, "C-9", &marker, &ev);
        assert_int_equal(
            pd_planner_assign(cat, &marker, &ev, &ps, 1, &arena, &first),
            PD_OK);
        marker.project_manager = first.project_manager;
        marker.plan_template = first.template_id;
        marker.plan_started_at = t0;
        marker.n_milestones = first.n_milestones;
        for (size_t i = 0; i < first.n_milestones; i++)
                marker.milestones[i] = first.milestones[i];
        marker.milestones[1].fired = true; /* day 10 concept summary */
        /* The persona moved and a further deal closes 20 days in: the
         * manager and template stay. */
        marker.dominant = PD_AXIS_MARKETING;
        ev.occurred_at = t0 + 20 * DAY_MS;
        ev.u.sale.deal_id = "D-2";
        assert_int_equal(pd_planner_extend(cat, &marker, &ev, &arena, &ext),
                         PD_OK);
        assert_true(ext.extends);
        assert_string_equal(ext.project_manager, "Jonas Keller");
        assert_string_equal(ext.template_id, "technical-integration");
        assert_string_equal(member(&ext, "project_manager"), "Jonas Keller");
        assert_true(has(&ext.attendees, "integration_developer"));
        static const int64_t want_days[] = {0,       10,      20 + 30,
                                            20 + 60, 20 + 90, 20 + 105};
        assert_int_equal(ext.n_milestones, 6);
        for (size_t i = 0; i < 6; i++)
                assert_int_equal(ext.milestones[i].due_at,
                                 t0 + want_days[i] * DAY_MS);
        assert_true(ext.milestones[1].fired);
        assert_non_null(strstr(ext.reason, "Jonas Keller kept"));
        assert_non_null(strstr(ext.reason, "4 open milestones"));
        assert_int_equal(ext.assigned_at, t0 + 20 * DAY_MS);
        /* extension adds no load */
        assert_int_equal(load(&ps, "Jonas Keller"), 1);
        pd_arena_term(&arena);
}

static void test_attendees(void **state)
{
        pd_strs_t t = pd_planner_attendees(cat, PD_AXIS_TECHNICAL);
        assert_true(has(&t, "integration_developer"));
        pd_strs_t m = pd_planner_attendees(cat, PD_AXIS_MARKETING);
        assert_true(has(&m, "ui_designer"));
        pd_strs_t c = pd_planner_attendees(cat, PD_AXIS_CONSULTING);
        assert_true(has(&c, "senior_consultant"));
        pd_strs_t s = pd_planner_attendees(cat, PD_AXIS_SIMPLICITY);
        assert_true(has(&s, "support_centre_lead"));
        pd_strs_t none = pd_planner_attendees(cat, PD_AXIS__CNT);
        assert_int_equal(none.n, 0);
}

/* ---- loader errors ------------------------------------------------------ */

static const char base_templates[] =
    "{\n"
    "  \"templates\": [\n"
    "    {\"id\": \"s\", \"persona\": \"simplicity\", \"team_roles\": "
    "[\"project_manager\"], \"attendees\": [], \"milestones\": [{\"name\": "
    "\"k\", \"day\": 0, \"owner\": \"project_manager\"}]},\n"
    "    {\"id\": \"m\", \"persona\": \"marketing\", \"team_roles\": "
    "[\"project_manager\"], \"attendees\": [], \"milestones\": [{\"name\": "
    "\"k\", \"day\": 0, \"owner\": \"project_manager\"}]},\n"
    "    {\"id\": \"t\", \"persona\": \"technical\", \"team_roles\": "
    "[\"project_manager\"], \"attendees\": [], \"milestones\": [{\"name\": "
    "\"k\", \"day\": 0, \"owner\": \"project_manager\"}]},\n"
    "    {\"id\": \"c\", \"persona\": \"consulting\", \"team_roles\": "
    "[\"project_manager\"], \"attendees\": [], \"milestones\": [{\"name\": "
    "\"k\", \"day\": 0, \"owner\": \"project_manager\"}]}\n"
    "  ]\n"
    "}\n";

static const char base_roster[] =
    "{\n"
    "  \"project_managers\": [\n"
    "    {\n"
    "      \"name\": \"A\",\n"
    "      \"skills\": {\"simplicity\": 1, \"marketing\": 0, \"technical\": "
    "0, \"consulting\": 0},\n"
    "      \"products\": [], \"regions\": [], \"languages\": [],\n"
    "      \"time_zones\": [\"Europe/Berlin\"],\n"
    "      \"capacity\": 10\n"
    "    }\n"
    "  ]\n"
    "}\n";

struct load_case {
        const char *name;
        const char *t_from, *t_to; /* one edit of the templates */
        const char *r_from, *r_to; /* one edit of the roster */
        const char *want;          /* after "<dir>/" */
};

static const struct load_case load_cases[] = {
    {"valid", NULL, NULL, NULL, NULL, NULL},
    {"syntax", "\"m\",", "\"m\"", NULL, NULL, "templates.json:4: syntax: "},
    {"bad persona", "\"marketing\"", "\"design\"", NULL, NULL,
     "templates.json:4: templates[1].persona: 'design' is not a persona "
     "axis"},
    {"missing persona template", "\"consulting\"", "\"technical\"", NULL, NULL,
     "templates.json:6: templates[3].persona: second template for "
     "persona technical"},
    {"negative day",
     "\"day\": 0, \"owner\": \"project_manager\"}]},\n    "
     "{\"id\": \"t\"",
     "\"day\": -1, \"owner\": \"project_manager\"}]},\n    {\"id\": \"t\"",
     NULL, NULL,
     "templates.json:4: templates[1].milestones[0].day: must be an integer "
     "from 0 to 3650"},
    {"owner outside the team",
     "\"k\", \"day\": 0, \"owner\": "
     "\"project_manager\"}]}\n",
     "\"k\", \"day\": 0, \"owner\": \"senior_consultant\"}]}\n", NULL, NULL,
     "templates.json:6: templates[3].milestones[0].owner: role "
     "'senior_consultant' is not in team_roles"},
    {"unknown template key", "\"id\": \"s\"", "\"ident\": \"s\"", NULL, NULL,
     "templates.json:3: templates[0].ident: unknown key"},
    {"no templates", "\"templates\"", "\"tmpls\"", NULL, NULL,
     "templates.json:2: tmpls: unknown key"},
    {"capacity zero", NULL, NULL, "\"capacity\": 10", "\"capacity\": 0",
     "roster.json:8: project_managers[0].capacity: must be an integer from 1 "
     "to 100000"},
    {"skill above 1", NULL, NULL, "\"simplicity\": 1,", "\"simplicity\": 2,",
     "roster.json:5: project_managers[0].skills.simplicity: must be a "
     "number from 0 to 1"},
    {"missing skill", NULL, NULL, "\"simplicity\": 1,", "",
     "roster.json:5: project_managers[0].skills.simplicity: missing"},
    {"unknown time zone", NULL, NULL, "Europe/Berlin", "Europe/Atlantis",
     "roster.json:7: project_managers[0].time_zones[0]: unknown time zone "
     "'Europe/Atlantis'"},
    {"misspelt key", NULL, NULL, "\"capacity\"", "\"capasity\"",
     "roster.json:8: project_managers[0].capasity: unknown key"},
    {"name not a string", NULL, NULL, "\"name\": \"A\"", "\"name\": 7",
     "roster.json:4: project_managers[0].name: must be a non-empty string"},
    {"a role every manager staffs",
     "\"persona\": \"marketing\", "
     "\"team_roles\": [\"project_manager\"",
     "\"persona\": \"marketing\", \"team_roles\": [\"project_manager\", "
     "\"ui_designer\"",
     "\"capacity\": 10",
     "\"capacity\": 10, \"team\": {\"ui_designer\": "
     "\"Mia Tanaka\"}",
     NULL},
    {"no pool for a role",
     "\"persona\": \"marketing\", \"team_roles\": "
     "[\"project_manager\"",
     "\"persona\": \"marketing\", \"team_roles\": [\"project_manager\", "
     "\"ui_designer\"",
     NULL, NULL,
     "roster.json:1: pools: no pool for role 'ui_designer' of template 'm'"},
};

static char *replace(const char *base, const char *from, const char *to)
{
        const char *at = from ? strstr(base, from) : NULL;
        size_t n = strlen(base) + (to ? strlen(to) : 0) + 1;
        char *out = malloc(n);
        assert_non_null(out);
        if (!at) {
                assert_null(from);
                strcpy(out, base);
                return out;
        }
        snprintf(out, n, "%.*s%s%s", (int)(at - base), base, to,
                 at + strlen(from));
        return out;
}

static void write_file(const char *path, const char *text)
{
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static void test_load_errors(void **state)
{
        char dir[] = "/tmp/pd-planner-XXXXXX";
        char tp[64], rp[64];
        assert_non_null(mkdtemp(dir));
        snprintf(tp, sizeof(tp), "%s/templates.json", dir);
        snprintf(rp, sizeof(rp), "%s/roster.json", dir);
        for (size_t i = 0; i < sizeof(load_cases) / sizeof(load_cases[0]);
             i++) {
                const struct load_case *c = &load_cases[i];
                char *t = replace(base_templates, c->t_from, c->t_to);
                char *r = replace(base_roster, c->r_from, c->r_to);
                char err[512] = "", want[512];
                pd_catalog_t *lc = NULL;
                write_file(tp, t);
                write_file(rp, r);
                pd_err_t e = pd_catalog_load(tp, rp, &lc, err, sizeof(err));
                snprintf(want, sizeof(want), "%s/%s", dir,
                         c->want ? c->want : "");
                if (!c->want) {
                        if (e)
                                fail_msg("%s: unexpected error %s", c->name,
                                         err);
                        assert_non_null(lc);
                } else if (e != PD_ERR_CONFIG || lc ||
                           strncmp(err, want, strlen(want))) {
                        fail_msg("%s:\n got  %s\n want %s", c->name, err, want);
                }
                pd_catalog_destroy(lc);
                free(t);
                free(r);
        }
        unlink(tp);
        unlink(rp);
        rmdir(dir);
}

static void test_load_missing_file(void **state)
{
        char err[256] = "";
        pd_catalog_t *lc = (pd_catalog_t *)&err; /* must be reset */
        assert_int_equal(pd_catalog_load("/nonexistent/t.json", roster_path,
                                         &lc, err, sizeof(err)),
                         PD_ERR_CONFIG);
        assert_null(lc);
        assert_non_null(strstr(err, "/nonexistent/t.json: cannot open"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_assign_table),
            cmocka_unit_test(test_simplicity_plan_shape),
            cmocka_unit_test(test_capacity_respected),
            cmocka_unit_test(test_over_capacity),
            cmocka_unit_test(test_load_balancing),
            cmocka_unit_test(test_deterministic),
            cmocka_unit_test(test_release),
            cmocka_unit_test(test_invalid_input),
            cmocka_unit_test(test_extend),
            cmocka_unit_test(test_attendees),
            cmocka_unit_test(test_load_errors),
            cmocka_unit_test(test_load_missing_file),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
