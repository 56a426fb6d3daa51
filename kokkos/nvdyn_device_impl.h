/* NVDYN: the passes of the device driver (nvdyn_device.h). Each follows
 * the host driver's pass of the same name in src/core/step_host.c or
 * host.c; the math is the kernels' (src/core/kernels/). */
#ifndef NVDYN_DEVICE_IMPL_H
#define NVDYN_DEVICE_IMPL_H

namespace NVDYN_NS {

/* nvdyn_i_select_styles(), and the selection copied to the device when it
 * is not the one there */
template <class DeviceType> int NVDynDevice<DeviceType>::select(unsigned mask)
{
  const int n = nvdyn_i_select_styles(e, mask);
  if (e->sel_mask == 0 || e->sel_mask != sel_mask || e->sel_version != sel_version) {
    sel.to_device((size_t) n);
    pos.to_device((size_t) e->nsamples);
    sel_mask = e->sel_mask;
    sel_version = e->sel_version;
  }
  return n;
}

template <class DeviceType> void NVDynDevice<DeviceType>::zero_acc(int width)
{
  e->width = width;
  const int n = e->nsel * width;
  auto s = acc.d, m = acc2.d;
  Kokkos::parallel_for(
      "nvdyn:zero_acc", Kokkos::RangePolicy<exec_space>(0, n), KOKKOS_LAMBDA(const int k) {
        s(k) = 0.0;
        m(k) = 0.0;
      });
}

template <class DeviceType>
template <class Op>
void NVDynDevice<DeviceType>::for_atoms(const char *name, const int natoms, const int *sample,
                                        const Op &op)
{
  auto k_of = kind.d;
  Kokkos::parallel_for(
      name, Kokkos::RangePolicy<exec_space>(0, natoms), KOKKOS_LAMBDA(const int i) {
        const int s = sample[i];
        if (s >= 0 && k_of(s) >= 0) op(i, s);
      });
}

template <class DeviceType>
template <class Op>
int NVDynDevice<DeviceType>::bound_atoms(const char *name, const int natoms, const int *sample,
                                         const Op &op)
{
  auto k_of = kind.d;
  auto each = KOKKOS_LAMBDA(const int i, nvdyn_step_bound &b)
  {
    const int s = sample[i];
    if (s >= 0 && k_of(s) >= 0) op(i, s, b);
  };
  nvdyn_step_bound b;
  Kokkos::parallel_reduce(name, Kokkos::RangePolicy<exec_space>(0, natoms),
                          BoundReduce<decltype(each)>{each}, b);
  return nvdyn_bound_flag(&b, e->units.maxmove);
}

template <class DeviceType>
template <class Op>
void NVDynDevice<DeviceType>::for_selected(const char *name, const Op &op)
{
  auto slots = sel.d;
  Kokkos::parallel_for(
      name, Kokkos::RangePolicy<exec_space>(0, e->nsel),
      KOKKOS_LAMBDA(const int k) { op(k, slots(k)); });
}

/* the selected samples' width values over every rank (the reduction
 * callback, on host memory) */
template <class DeviceType>
nvdyn_status NVDynDevice<DeviceType>::reduce(Copy<double> &values, int width, nvdyn_reduce_op op)
{
  if (!e->reduce_fn) return NVDYN_OK;
  const size_t n = (size_t) e->nsel * (size_t) width;
  exec_space().fence();
  values.to_host(n);
  nvdyn_status rc = nvdyn_i_reduce(e, values.h, (int) n, op);
  values.to_device(n);
  return rc;
}

template <class DeviceType>
template <class Term>
void NVDynDevice<DeviceType>::sample_sums(const int width, Copy<double> &sums, Copy<double> *maxima,
                                          const Term &term)
{
  sample_sums(width, sums, maxima, term, KOKKOS_LAMBDA(const int, nvdyn_step_bound &){});
}

template <class DeviceType>
template <class Term, class Bound>
nvdyn_step_bound NVDynDevice<DeviceType>::sample_sums(const int width, Copy<double> &sums,
                                                      Copy<double> *maxima, const Term &term,
                                                      const Bound &bound)
{
  e->width = width;
  auto slots = sel.d;
  auto first = start.d;
  auto atoms = order.d;
  auto sum = sums.d;
  auto mx = maxima ? maxima->d : Kokkos::View<double *, DeviceType>();
  const bool with_max = maxima != nullptr;
  auto op = KOKKOS_LAMBDA(const int k, nvdyn_step_bound &b)
  {
    const int s = slots(k);
    double t[NACC], m[NACC];
    for (int q = 0; q < NACC; q++) t[q] = m[q] = 0.0;
    for (int j = first(s); j < first(s + 1); j++) {
      term(atoms(j), t, m);
      bound(atoms(j), b);
    }
    for (int q = 0; q < width; q++) {
      sum(width * k + q) = t[q];
      if (with_max) mx(width * k + q) = m[q];
    }
  };
  nvdyn_step_bound b;
  Kokkos::parallel_reduce("nvdyn:sample_sums_bound", Kokkos::RangePolicy<exec_space>(0, e->nsel),
                          BoundReduce<decltype(op)>{op}, b);
  return b;
}

/* FIRE: per-sample sums v.f, v.v, f.f and max |v_k| of the selected
 * samples, reduced, then each sample's decision (step_host.c
 * fire_decisions) */
template <class DeviceType>
nvdyn_status NVDynDevice<DeviceType>::fire_decisions(const DeviceAtoms &a)
{
  packed(a, [&](const auto &b) { fire_sums(b); });
  auto sum = acc.d, mx = acc2.d;
  nvdyn_status rc = reduce(acc, 3, NVDYN_REDUCE_SUM);
  if (rc != NVDYN_OK) return rc;
  if ((rc = reduce(acc2, 3, NVDYN_REDUCE_MAX)) != NVDYN_OK) return rc;
  auto k_of = kind.d;
  auto ss_of = samples.d;
  auto sg_of = stages.d;
  auto c_of = coef.d;
  auto dt_of = sdt.d;
  for_selected(
      "nvdyn:fire_decide", KOKKOS_LAMBDA(const int k, const int s) {
        nvdyn_sample *ss = &ss_of(s);
        const nvdyn_stage_params *sg = &sg_of(ss->stage);
        if (k_of(s) == NVDYN_STYLE_FIRE)
          c_of(s).fire =
              nvdyn_fire_decide(sg, ss, sum(3 * k), sum(3 * k + 1), sum(3 * k + 2), mx(3 * k));
        else
          c_of(s).fire_ase =
              nvdyn_fire_ase_decide(sg, ss, sum(3 * k), sum(3 * k + 1), sum(3 * k + 2));
        dt_of(s) = ss->fdt;
      });
  return NVDYN_OK;
}

template <class DeviceType>
template <class Atoms>
void NVDynDevice<DeviceType>::fire_sums(const Atoms &a)
{
  const double fclamp = e->units.fclamp;
  sample_sums(
      3, acc, &acc2, KOKKOS_LAMBDA(const int i, double *t, double *m) {
        const double *v = a.vi(i), *f = a.fi(i);
        const double vm = nvdyn_fire_terms(v, a.vc, f, a.fc, a.clamp(f, fclamp), t);
        m[0] = vm > m[0] ? vm : m[0];
      });
}

/* ASE FIRE: the step dr = dt v, limited to maxstep in norm over the sample
 * (the sample's sum of |v|^2 after the velocity update; step_host.c
 * fire_ase_positions) */
template <class DeviceType>
nvdyn_status NVDynDevice<DeviceType>::fire_ase_positions(const DeviceAtoms &a)
{
  {
    auto k_of = kind.d;
    sample_sums(
        1, acc, nullptr, KOKKOS_LAMBDA(const int i, double *t, double *) {
          if (k_of(a.sample[i]) == NVDYN_STYLE_FIRE_ASE)
            t[0] += nvdyn_dot(a.vi(i), a.vc, a.vi(i), a.vc);
        });
  }
  nvdyn_status rc = reduce(acc, e->width, NVDYN_REDUCE_SUM);
  if (rc != NVDYN_OK) return rc;
  auto k_of = kind.d;
  auto ss_of = samples.d;
  auto sg_of = stages.d;
  auto c_of = coef.d;
  auto sum = acc.d;
  const int width = e->width;
  for_selected(
      "nvdyn:fire_ase_limit", KOKKOS_LAMBDA(const int k, const int s) {
        if (k_of(s) == NVDYN_STYLE_FIRE_ASE)
          c_of(s).fire_ase.dtv =
              nvdyn_fire_ase_limit(&sg_of(ss_of(s).stage), &ss_of(s), sum(k * width));
      });
  for_atoms(
      "nvdyn:fire_ase_drift", a.natoms, a.sample, KOKKOS_LAMBDA(const int i, const int s) {
        if (k_of(s) == NVDYN_STYLE_FIRE_ASE)
          nvdyn_drift(a.xi(i), a.xc, a.vi(i), a.vc, c_of(s).fire_ase.dtv);
      });
  return NVDYN_OK;
}

/* sum of m v^2 and number of atoms (acc, width 2) of the selected samples,
 * reduced (step_host.c sum_mvv) */
template <class DeviceType> nvdyn_status NVDynDevice<DeviceType>::sum_mvv(const DeviceAtoms &a)
{
  sample_sums(
      2, acc, &acc2, KOKKOS_LAMBDA(const int i, double *t, double *) {
        t[0] += nvdyn_mvv_term(a.vi(i), a.vc, a.mass(i));
        t[1] += 1.0;
      });
  return reduce(acc, 2, NVDYN_REDUCE_SUM);
}

/* the thermostats' velocity scale factors of the selected samples from
 * their kinetic energy sums (acc, width 2): nhc half steps or csvr */
template <class DeviceType> void NVDynDevice<DeviceType>::thermostat_factors()
{
  auto k_of = kind.d;
  auto ss_of = samples.d;
  auto sg_of = stages.d;
  auto c_of = coef.d;
  auto sum = acc.d;
  const nvdyn_units u = e->units;
  for_selected(
      "nvdyn:thermostat", KOKKOS_LAMBDA(const int k, const int s) {
        nvdyn_sample *ss = &ss_of(s);
        const nvdyn_stage_params *sg = &sg_of(ss->stage);
        const double mvv = sum(2 * k) * u.mvv2e, natoms = sum(2 * k + 1);
        c_of(s).scale = k_of(s) == NVDYN_STYLE_NHC
            ? nvdyn_nhc_half_step(sg, ss, mvv, natoms, u.boltz)
            : nvdyn_csvr_factor(sg, ss, 0.5 * mvv, natoms, u.boltz);
      });
}

/* langevin: each active sample's O-step coefficients */
template <class DeviceType> void NVDynDevice<DeviceType>::langevin_coefs()
{
  auto list = active.d;
  auto k_of = kind.d;
  auto ss_of = samples.d;
  auto sg_of = stages.d;
  auto c_of = coef.d;
  const nvdyn_units u = e->units;
  Kokkos::parallel_for(
      "nvdyn:langevin_coef", Kokkos::RangePolicy<exec_space>(0, e->nactive),
      KOKKOS_LAMBDA(const int k) {
        const int s = list(k);
        if (k_of(s) == NVDYN_STYLE_LANGEVIN)
          c_of(s).langevin = nvdyn_langevin_coef(&sg_of(ss_of(s).stage), &u);
      });
}

/* every active sample's atoms: tight kernels in the common cases (every
 * active sample in a kick-drift stage, nve or csvr, or in a fire stage),
 * else one kernel for every style (step_host.c mixed_step_loop) */
template <class DeviceType> void NVDynDevice<DeviceType>::atom_pass(const DeviceAtoms &a)
{
  if (!any_active(e, S_ALL & ~(S(NVE) | S(CSVR))))
    packed(a, [&](const auto &b) { kick_drift(b); });
  else if (!any_active(e, S_ALL & ~S(FIRE)))
    packed(a, [&](const auto &b) { fire_step(b); });
  else
    atom_mixed(a);
}

template <class DeviceType>
template <class Atoms>
void NVDynDevice<DeviceType>::kick_drift(const Atoms &a)
{
  auto dt_of = sdt.d;
  const nvdyn_units u = e->units;
  for_atoms(
      "nvdyn:kick_drift", a.natoms, a.sample, KOKKOS_LAMBDA(const int i, const int s) {
        const double *f = a.fi(i);
        nvdyn_kick_drift(a.xi(i), a.xc, a.vi(i), a.vc, f, a.fc, a.mass(i), dt_of(s), u.ftm2v,
                         a.clamp(f, u.fclamp));
      });
}

template <class DeviceType>
template <class Atoms>
void NVDynDevice<DeviceType>::fire_step(const Atoms &a)
{
  auto c_of = coef.d;
  const nvdyn_units u = e->units;
  for_atoms(
      "nvdyn:fire_step", a.natoms, a.sample, KOKKOS_LAMBDA(const int i, const int s) {
        const double *f = a.fi(i);
        nvdyn_fire_atom(a.xi(i), a.xc, a.vi(i), a.vc, f, a.fc, a.mass(i), a.clamp(f, u.fclamp),
                        u.ftm2v, &c_of(s).fire);
      });
}

template <class DeviceType> void NVDynDevice<DeviceType>::atom_mixed(const DeviceAtoms &a)
{
  auto k_of = kind.d;
  auto dt_of = sdt.d;
  auto c_of = coef.d;
  auto ss_of = samples.d;
  auto sg_of = stages.d;
  const nvdyn_units u = e->units;
  for_atoms(
      "nvdyn:pre_update", a.natoms, a.sample, KOKKOS_LAMBDA(const int i, const int s) {
        double *x = a.xi(i), *v = a.vi(i);
        const double *f = a.fi(i);
        const double fc = a.clamp(f, u.fclamp), m = a.mass(i);
        const nvdyn_step_coef &c = c_of(s);
        switch (k_of(s)) {
          case NVDYN_STYLE_NHC:
            nvdyn_scale(v, a.vc, c.scale);
            [[fallthrough]];    // (nvcc drops comments: gcc would warn)
          case NVDYN_STYLE_NVE:
          case NVDYN_STYLE_CSVR:
            nvdyn_kick_drift(x, a.xc, v, a.vc, f, a.fc, m, dt_of(s), u.ftm2v, fc);
            break;
          case NVDYN_STYLE_LANGEVIN: {
            const nvdyn_sample &ss = ss_of(s);
            nvdyn_rng r =
                nvdyn_rng_make(sg_of(ss.stage).c.thermostat.seed, ss.key, (uint64_t) a.index[i],
                               (uint64_t) (ss.age + 1), NVDYN_PURPOSE_LANGEVIN);
            nvdyn_baoab_atom(x, a.xc, v, a.vc, f, a.fc, m, fc, dt_of(s), u.ftm2v, &c.langevin, &r);
          } break;
          case NVDYN_STYLE_FIRE:
            nvdyn_fire_atom(x, a.xc, v, a.vc, f, a.fc, m, fc, u.ftm2v, &c.fire);
            break;
          case NVDYN_STYLE_FIRE_ASE:    // (its |v|^2: fire_ase_positions)
            nvdyn_fire_ase_velocity(v, a.vc, f, a.fc, fc, dt_of(s), &c.fire_ase);
            break;
        }
      });
}

template <class DeviceType> nvdyn_status NVDynDevice<DeviceType>::pre_update(const DeviceAtoms &a)
{
  nvdyn_status rc = init_velocities(a);
  if (rc != NVDYN_OK) return rc;
  if (a.natoms > 0 && !a.index && any_active(e, S(LANGEVIN)))
    return nvdyn_i_fail(e, NVDYN_ERR_NULL,
                        "langevin stages need each atom's index in its sample (index)");
  to_device();
  /* Nose-Hoover chains scale v before the drift: a sample whose scaled
   * step has a hazard fails before it moves */
  if (any_active(e, S(NHC)) && select(S(NHC))) {
    if ((rc = sum_mvv(a)) != NVDYN_OK) return rc;
    thermostat_factors();
    if (nvdyn_i_safety_on(e)) {
      int nfailed = 0;
      if ((rc = fail_hazards(a, 1, &nfailed)) != NVDYN_OK) return rc;
      e->pending += nfailed;
      to_device();
    }
  }
  if (select(S_FIRE_ANY) && (rc = fire_decisions(a)) != NVDYN_OK) return rc;
  if (e->nstyle[NVDYN_STYLE_LANGEVIN]) langevin_coefs();
  atom_pass(a);
  /* (the selection is still FIRE's: its sums make way for |v|^2) */
  return any_active(e, S(FIRE_ASE)) ? fire_ase_positions(a) : NVDYN_OK;
}

/* Velocities of the samples entering a stage (step_host.c
 * init_velocities): drawn (or zeroed) on the device, each sample's net
 * momentum removed and its temperature set exactly; the samples' state is
 * kept on the host for it (a step on which samples entered stages, after
 * the end of a step that changed them on the host) */
template <class DeviceType>
nvdyn_status NVDynDevice<DeviceType>::init_velocities(const DeviceAtoms &a)
{
  if (!e->vinit_due) return NVDYN_OK;
  to_host();
  const int draw = nvdyn_i_select_vinit(e);
  if (e->nsel == 0) {
    e->vinit_due = 0;
    return NVDYN_OK;
  }
  if (draw && a.natoms > 0 && !a.index)
    return nvdyn_i_fail(e, NVDYN_ERR_NULL,
                        "velocity initialisation needs each atom's index in its sample (index)");
  to_device();
  selection_to_device();
  auto p_of = pos.d;
  auto ss_of = samples.d;
  auto sg_of = stages.d;
  const nvdyn_units u = e->units;
  /* draw (or zero), then sum momentum, mass and count per sample */
  for_atoms(
      "nvdyn:draw", a.natoms, a.sample, KOKKOS_LAMBDA(const int i, const int s) {
        if (p_of(s) < 0) return;
        double *v = a.vi(i);
        const nvdyn_sample &ss = ss_of(s);
        const nvdyn_stage_params &sg = sg_of(ss.stage);
        if (!(sg.velocity > 0.0)) {
          nvdyn_zero(v, a.vc);
          return;
        }
        nvdyn_rng r = nvdyn_rng_make(sg.velocity_seed, ss.key, (uint64_t) a.index[i],
                                     (uint64_t) (ss.age + 1), NVDYN_PURPOSE_VELOCITY);
        double p[3] = {0.0, 0.0, 0.0};
        nvdyn_draw_velocity(v, a.vc, a.mass(i), sg.velocity, &u, &r, p);
      });
  const int nvinit = e->nsel;
  if (!draw) {
    for (int k = 0; k < nvinit; k++) e->samples[e->sel[k]].vinit = 0;
    e->vinit_due = 0;
    where = HOST;
    return NVDYN_OK;
  }
  /* (nvdyn_draw_velocity's momentum is m v of the drawn v) */
  auto drawn = KOKKOS_LAMBDA(const int i)
  {
    return sg_of(ss_of(a.sample[i]).stage).velocity > 0.0;
  };
  sample_sums(
      5, acc, &acc2, KOKKOS_LAMBDA(const int i, double *t, double *) {
        if (!drawn(i)) return;
        const double m = a.mass(i), *v = a.vi(i);
        for (int k = 0; k < 3; k++) t[k] += m * v[k * a.vc];
        t[3] += m;
        t[4] += 1.0;
      });
  nvdyn_status rc = reduce(acc, 5, NVDYN_REDUCE_SUM);
  if (rc != NVDYN_OK) return rc;
  /* remove the net momentum, then scale to exactly the temperature */
  auto sum = acc.d;
  for_atoms(
      "nvdyn:momentum", a.natoms, a.sample, KOKKOS_LAMBDA(const int i, const int s) {
        if (p_of(s) < 0 || !drawn(i)) return;
        const int q = p_of(s);
        const double mom[3] = {sum(5 * q), sum(5 * q + 1), sum(5 * q + 2)};
        nvdyn_remove_momentum(a.vi(i), a.vc, mom, sum(5 * q + 3));
      });
  sample_sums(
      5, acc2, nullptr, KOKKOS_LAMBDA(const int i, double *t, double *) {
        if (drawn(i)) t[0] += nvdyn_mvv_term(a.vi(i), a.vc, a.mass(i));
      });
  if ((rc = reduce(acc2, 5, NVDYN_REDUCE_SUM)) != NVDYN_OK) return rc;
  exec_space().fence();
  acc.to_host((size_t) nvinit * 5);
  acc2.to_host((size_t) nvinit * 5);
  /* the drawn samples only: scaled, then checked before they move */
  nvdyn_i_keep_drawn(e);
  where = HOST;
  to_device();
  coef.to_device((size_t) e->nsamples);
  selection_to_device();
  scale_velocities(a, 0);
  int nfailed = 0;
  if (nvdyn_i_safety_on(e) && (rc = fail_hazards(a, 0, &nfailed)) != NVDYN_OK) return rc;
  e->pending += nfailed;
  e->vinit_due = 0;
  return NVDYN_OK;
}

/* The last half kick of every MD atom; with sums, the kinetic energy sums
 * (width 2: m v^2 and the number of atoms) of the selected samples.
 * Returns the bound flag of the next steps of the other atoms
 * (step_host.c last_kick_loop). */
template <class DeviceType>
int NVDynDevice<DeviceType>::last_kick(const DeviceAtoms &a, const int sums)
{
  const int flag = packed(a, [&](const auto &b) { return last_kick_kernel(b, sums); });
  if (sums)
    sample_sums(
        2, acc, &acc2, KOKKOS_LAMBDA(const int i, double *t, double *) {
          t[0] += nvdyn_mvv_term(a.vi(i), a.vc, a.mass(i));
          t[1] += 1.0;
        });
  return flag;
}

template <class DeviceType>
template <class Atoms>
int NVDynDevice<DeviceType>::last_kick_kernel(const Atoms &a, const int sums)
{
  auto k_of = kind.d;
  auto dt_of = sdt.d;
  auto p_of = pos.d;
  const double ftm2v = e->units.ftm2v, fclamp = e->units.fclamp;
  return bound_atoms(
      "nvdyn:last_kick", a.natoms, a.sample,
      KOKKOS_LAMBDA(const int i, const int s, nvdyn_step_bound &b) {
        if (k_of(s) < NVDYN_STYLE_NVE) return;    // FIRE
        double *v = a.vi(i);
        const double *f = a.fi(i);
        const double m = a.mass(i), dt = dt_of(s), fc = a.clamp(f, fclamp);
        const double hdt = nvdyn_kick_last(v, a.vc, f, a.fc, m, dt, ftm2v, fc);
        if (!sums || p_of(s) < 0) nvdyn_bound_add(&b, v, a.vc, f, a.fc, fc, hdt, dt);
      });
}

/* v *= coef.scale for the atoms of the selected samples; with check, 1 if
 * a scaled atom's next step may have a hazard (host.c scale_loop) */
template <class DeviceType>
int NVDynDevice<DeviceType>::scale_velocities(const DeviceAtoms &a, const int check)
{
  auto k_of = kind.d;
  auto dt_of = sdt.d;
  auto p_of = pos.d;
  auto c_of = coef.d;
  const nvdyn_units u = e->units;
  const int flag = bound_atoms(
      "nvdyn:scale", a.natoms, a.sample,
      KOKKOS_LAMBDA(const int i, const int s, nvdyn_step_bound &b) {
        if (p_of(s) < 0) return;
        double *v = a.vi(i);
        const double *f = a.fi(i);
        nvdyn_scale(v, a.vc, c_of(s).scale);
        if (check)
          nvdyn_bound_add_atom(&b, a.xi(i), a.xc, v, a.vc, f, a.fc, a.clamp(f, u.fclamp), a.mass(i),
                               k_of(s), dt_of(s), &u);
      });
  return check && flag;
}

template <class DeviceType> nvdyn_status NVDynDevice<DeviceType>::post_update(const DeviceAtoms &a)
{
  to_device();
  const unsigned thermo = S(CSVR) | S(NHC);
  const int nthermo = any_active(e, thermo) ? select(thermo) : 0;
  if (!any_active(e, S_MD)) return NVDYN_OK;    // FIRE works in pre_update only
  const int safety = nvdyn_i_safety_on(e);
  if (!nthermo) {
    e->flagged |= last_kick(a, 0) && safety;
    return NVDYN_OK;
  }
  e->flagged |= last_kick(a, 1) && safety;
  nvdyn_status rc = reduce(acc, 2, NVDYN_REDUCE_SUM);
  if (rc != NVDYN_OK) return rc;
  thermostat_factors();
  e->flagged |= scale_velocities(a, safety);
  return NVDYN_OK;
}

/* ---- the end of the step (end_host.c) ------------------------------------- */

/* the active samples' checks due at this end of a step (due[k], on the
 * device): 1 if one is; *energy = 1 if one of them needs energies */
template <class DeviceType> int NVDynDevice<DeviceType>::checks_due(int *energy)
{
  *energy = 0;
  if (!e->checks) return 0;
  auto due_of = due.d;
  const int flags = active_or(
      "nvdyn:due",
      KOKKOS_LAMBDA(const int k, const nvdyn_sample &ss, const nvdyn_stage_params &sg) {
        const int d = nvdyn_check_due(&sg, &ss);
        due_of(k) = (signed char) d;
        return d | ((d && nvdyn_needs_energy(&sg)) << 1);
      });
  *energy = (flags >> 1) & 1;
  return flags & 1;
}

template <class DeviceType> int NVDynDevice<DeviceType>::need_energy()
{
  to_device();
  return active_or(
      "nvdyn:need_energy",
      KOKKOS_LAMBDA(const int, const nvdyn_sample &ss, const nvdyn_stage_params &sg) {
        return (int) (nvdyn_needs_energy(&sg) && nvdyn_check_due(&sg, &ss));
      });
}

/* the "or" over the active samples k of op(k, sample, its stage) */
template <class DeviceType>
template <class Op>
int NVDynDevice<DeviceType>::active_or(const char *name, const Op &op)
{
  auto list = active.d;
  auto ss_of = samples.d;
  auto sg_of = stages.d;
  int flags = 0;
  Kokkos::parallel_reduce(
      name, Kokkos::RangePolicy<exec_space>(0, e->nactive),
      KOKKOS_LAMBDA(const int k, int &f) {
        const nvdyn_sample &ss = ss_of(list(k));
        f |= op(k, ss, sg_of(ss.stage));
      },
      Kokkos::BOr<int>(flags));
  return flags;
}

/* 1 if an atom of an active sample whose style is in mask may have a
 * hazard (end_host.c any_hazard_loop) */
template <class DeviceType>
int NVDynDevice<DeviceType>::any_hazard(const DeviceAtoms &a, const unsigned mask)
{
  auto k_of = kind.d;
  auto dt_of = sdt.d;
  const nvdyn_units u = e->units;
  return bound_atoms(
      "nvdyn:any_hazard", a.natoms, a.sample,
      KOKKOS_LAMBDA(const int i, const int s, nvdyn_step_bound &b) {
        if (!((mask >> k_of(s)) & 1u)) return;
        const double *f = a.fi(i);
        nvdyn_bound_add_atom(&b, a.xi(i), a.xc, a.vi(i), a.vc, f, a.fc, a.clamp(f, u.fclamp),
                             a.mass(i), k_of(s), dt_of(s), &u);
      });
}

/* Statistics of every active sample (end_host.c sample_stats): acc = (sum
 * m v^2, PE, natoms), acc2 = (max |f|^2, largest atom hazard, PE given);
 * the hazards from a bound of all atoms' steps, then, when it flags on
 * some rank, exactly. */
template <class DeviceType> nvdyn_status NVDynDevice<DeviceType>::sample_stats(const DeviceAtoms &a)
{
  const int nsel = select(S_ALL);
  const int flag = packed(a, [&](const auto &b) { return stats_kernel(b); });
  auto k_of = kind.d;
  auto dt_of = sdt.d;
  auto p_of = pos.d;
  const nvdyn_units u = e->units;
  auto mx = acc2.d;
  /* a bound that flags: every sample of the step is tested exactly */
  if (flag)
    Kokkos::parallel_for(
        "nvdyn:flag_all", Kokkos::RangePolicy<exec_space>(0, nsel),
        KOKKOS_LAMBDA(const int k) { mx(3 * k + 1) = 1.0; });
  nvdyn_status rc = reduce(acc, 3, NVDYN_REDUCE_SUM);
  if (rc != NVDYN_OK) return rc;
  if ((rc = reduce(acc2, 3, NVDYN_REDUCE_MAX)) != NVDYN_OK) return rc;
  /* the exact hazards of the samples whose atoms were flagged */
  auto t_of = touched.d;
  int flagged = 0;
  Kokkos::parallel_reduce(
      "nvdyn:flagged", Kokkos::RangePolicy<exec_space>(0, nsel),
      KOKKOS_LAMBDA(const int k, int &any) {
        const int t = mx(3 * k + 1) != 0.0;
        t_of(k) = (unsigned char) t;
        if (t) mx(3 * k + 1) = 0.0;
        any |= t;
      },
      Kokkos::BOr<int>(flagged));
  if (!flagged) return NVDYN_OK;
  for_atoms(
      "nvdyn:hazards", a.natoms, a.sample, KOKKOS_LAMBDA(const int i, const int s) {
        if (!t_of(p_of(s))) return;
        const double h = nvdyn_atom_hazard(a.xi(i), a.xc, a.vi(i), a.vc, a.fi(i), a.fc, a.mass(i),
                                           1.0, k_of(s), dt_of(s), &u);
        Kokkos::atomic_fetch_max(&mx(3 * p_of(s) + 1), h);
      });
  return reduce(acc2, 3, NVDYN_REDUCE_MAX);
}

/* the statistics' sums and maxima, and the flag of a bound of every
 * active atom's next step (every active sample is selected) */
template <class DeviceType>
template <class Atoms>
int NVDynDevice<DeviceType>::stats_kernel(const Atoms &a)
{
  auto k_of = kind.d;
  auto dt_of = sdt.d;
  const nvdyn_units u = e->units;
  auto term = KOKKOS_LAMBDA(const int i, double *t, double *m)
  {
    const double *f = a.fi(i);
    const double f2 = nvdyn_dot(f, a.fc, f, a.fc);
    t[0] += nvdyn_mvv_term(a.vi(i), a.vc, a.mass(i));
    if (a.pe) {
      t[1] += a.pe[i];
      m[2] = 1.0;
    }
    t[2] += 1.0;
    m[0] = f2 > m[0] ? f2 : m[0];
  };
  auto bound = KOKKOS_LAMBDA(const int i, nvdyn_step_bound &b)
  {
    const int s = a.sample[i];
    const double *f = a.fi(i);
    nvdyn_bound_add_atom(&b, a.xi(i), a.xc, a.vi(i), a.vc, f, a.fc, a.clamp(f, u.fclamp), a.mass(i),
                         k_of(s), dt_of(s), &u);
  };
  const nvdyn_step_bound b = sample_sums(3, acc, &acc2, term, bound);
  return nvdyn_bound_flag(&b, u.maxmove);
}

/* Every active sample's end of the step (steps counted, nvdyn_end_sample):
 * events[k] for active[k]; returns the number of samples with an event */
template <class DeviceType>
int NVDynDevice<DeviceType>::end_samples(const int stats, const int refresh, const int safety)
{
  auto list = active.d;
  auto ss_of = samples.d;
  auto sg_of = stages.d;
  auto due_of = due.d;
  auto ev_of = events;
  auto sum = acc.d, mx = acc2.d;
  const int checks = e->checks;
  const nvdyn_units u = e->units;
  int n = 0;
  Kokkos::parallel_reduce(
      "nvdyn:end_samples", Kokkos::RangePolicy<exec_space>(0, e->nactive),
      KOKKOS_LAMBDA(const int k, int &count) {
        nvdyn_sample *ss = &ss_of(list(k));
        const nvdyn_stage_params *sg = &sg_of(ss->stage);
        const int d = checks && due_of(k);
        ss->steps++;
        ss->age++;
        nvdyn_stats st;
        if (stats)
          st = nvdyn_stats{sum(3 * k), sum(3 * k + 1), sum(3 * k + 2),
                           mx(3 * k),  mx(3 * k + 1),  mx(3 * k + 2)};
        const int event = nvdyn_end_sample(sg, ss, stats ? &st : nullptr, d, refresh, safety, &u);
        ev_of(k) = event;
        count += event != NVDYN_EVENT_NONE;
      },
      n);
  return n;
}

/* Fail every selected sample one of whose atoms has a hazard, before its
 * atoms move, their velocities scaled by coef.scale if scaled (host.c
 * nvdyn_i_fail_hazards; the selection made on the host). The samples that
 * fail do in the engine, whose state is then current on the host. */
template <class DeviceType>
nvdyn_status NVDynDevice<DeviceType>::fail_hazards(const DeviceAtoms &a, const int scaled,
                                                   int *nfailed)
{
  if (nfailed) *nfailed = 0;
  const int nsel = e->nsel;
  if (nsel == 0) return NVDYN_OK;
  to_device();
  selection_to_device();
  zero_acc(1);
  auto k_of = kind.d;
  auto dt_of = sdt.d;
  auto p_of = pos.d;
  auto c_of = coef.d;
  auto mx = acc2.d;
  const nvdyn_units u = e->units;
  for_atoms(
      "nvdyn:fail_hazards", a.natoms, a.sample, KOKKOS_LAMBDA(const int i, const int s) {
        if (p_of(s) < 0) return;
        const double h = nvdyn_atom_hazard(a.xi(i), a.xc, a.vi(i), a.vc, a.fi(i), a.fc, a.mass(i),
                                           scaled ? c_of(s).scale : 1.0, k_of(s), dt_of(s), &u);
        Kokkos::atomic_fetch_max(&mx(p_of(s)), h);
      });
  nvdyn_status rc = reduce(acc2, 1, NVDYN_REDUCE_MAX);
  if (rc != NVDYN_OK) return rc;
  exec_space().fence();
  acc2.to_host((size_t) nsel);
  int any = 0;
  for (int k = 0; k < nsel; k++) any |= e->acc2[k] != 0.0;
  if (!any) return NVDYN_OK;
  to_host();
  const int n = nvdyn_i_fail_flagged(e);
  where = HOST;
  if (nfailed) *nfailed = n;
  return NVDYN_OK;
}

template <class DeviceType>
nvdyn_status NVDynDevice<DeviceType>::end_step(const DeviceAtoms &a, int *nchanged)
{
  to_device();
  int energy = 0;
  const int any_check = checks_due(&energy);
  nvdyn_status rc = nvdyn_i_energies_given(e, energy, a.natoms, a.pe);
  if (rc != NVDYN_OK) return rc;
  const int refresh = e->refresh;
  e->refresh = 0;
  const int safety = nvdyn_i_safety_on(e);
  int stats = any_check || refresh;
  const int flagged = e->flagged;
  e->flagged = 0;
  if (!stats && safety) {
    double bad = flagged || (any_active(e, S_FIRE_ANY) && any_hazard(a, S_FIRE_ANY));
    if ((rc = nvdyn_i_reduce(e, &bad, 1, NVDYN_REDUCE_MAX)) != NVDYN_OK) return rc;
    stats = bad != 0.0;
  }
  if (stats && (rc = sample_stats(a)) != NVDYN_OK) return rc;
  const int nevents = end_samples(stats, refresh, safety);
  int changed = 0;
  e->nconverged = 0;
  if (nevents) {
    /* the engine's part, as in nvdyn_end_step, for the samples whose
     * outcome or stage changed */
    to_host();
    auto ev = Kokkos::create_mirror_view(events);
    Kokkos::deep_copy(ev, events);
    int entered = 0;
    for (int k = 0; k < e->nactive; k++) {
      if (ev(k) == NVDYN_EVENT_NONE) continue;
      entered += nvdyn_i_end_event(e, e->active[k], ev(k));
      changed++;
    }
    nvdyn_i_sync_active(e);
    /* samples that entered an MD stage keeping their velocities take its
     * time step from the next step on: checked with it before they move */
    if (entered && safety) {
      nvdyn_i_select_entered_md(e);
      if ((rc = fail_hazards(a, 0, nullptr)) != NVDYN_OK) return rc;    // counted already
    }
  }
  changed += e->pending;
  e->pending = 0;
  e->step++;
  *nchanged = changed;
  return nvdyn_i_ok(e);
}

}    // namespace NVDYN_NS

#endif
