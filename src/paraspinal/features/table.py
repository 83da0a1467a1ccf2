"""The tidy feature table and the feature registry.

:func:`compute` returns one row per value with the columns :data:`COLUMNS`
(``subject, group, session, task, run, channel, muscle, side, phase, cycle, feature, value,
unit``). Row order is deterministic: channels in channel-table order, then left/right
pairs, then agonist/antagonist pairs; phases in order of first appearance (``all`` last);
cycles ascending with the all-cycles row (missing cycle) last; features in
:data:`FEATURES` order.

Conventions of the table:

* ``phase``/``cycle``: one row per (phase, cycle) group of the phase table; when a phase
  has cycle numbers, one more row with a missing cycle pools all its segments (for ratios:
  the mean of the per-cycle numerators over the mean of the per-cycle denominators).
  Whole-recording features (``sdr``, spasm-like bursts) have ``phase == "all"``; a
  recording without phases is one ``all`` phase.
* pair features (asymmetry, co-contraction) have ``channel == "A|B"``: ``"L_MF|R_MF"``
  (left first) with ``muscle == "MF"`` and ``side == "L|R"``, or ``"L_LT|L_RA"``
  (agonist first) with ``muscle == "LT|RA"`` and ``side == "L"``.
* amplitudes are in uV, or in the normalisation unit of the channel (``%MVC``, ``%RVC``,
  ``%peak``) when the Recording was normalised; ``unit`` says which.
* non-finite values (e.g. no EMG-off found in a cycle) are left out, never written as NaN;
  ``df.attrs["dropped"]`` counts them and ``df.attrs["parameters"]`` records every
  parameter used.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import phases as _ph
from ..channels import EXTENSORS, agonist_antagonist_pairs, bilateral_pairs
from ..errors import ChannelError, ParameterError, ParaspinalWarning
from ..recording import Recording
from . import spectral as _sp
from . import trunk as _tr
from .amplitude import rms_at

__all__ = ["COLUMNS", "FEATURES", "Feature", "compute", "feature_table_markdown"]

#: Columns of the tidy feature table.
COLUMNS: tuple[str, ...] = ("subject", "group", "session", "task", "run", "channel", "muscle", "side", "phase",
                            "cycle", "feature", "value", "unit")


@dataclass(frozen=True)
class Feature:
    """One feature: what it is, its unit, its default parameters and its source."""

    name: str
    family: str
    definition: str
    formula: str
    unit: str
    defaults: str
    citation: str


def _f(name, family, definition, formula, unit, defaults, citation) -> tuple[str, Feature]:
    return name, Feature(name, family, definition, formula, unit, defaults, citation)


A = "U (uV, or %MVC/%RVC/%peak when normalised)"
#: Feature registry: name -> :class:`Feature` (listed in docs/features.md).
FEATURES: dict[str, Feature] = dict([
    _f("rms", "amplitude", "root mean square of the EMG in the phase", "sqrt(mean(x^2))", A, "-",
       "Merletti 1999 (ISEK standards)"),
    _f("arv", "amplitude", "average rectified (mean absolute) value", "mean(|x|)", A, "-", "Merletti 1999"),
    _f("iemg", "amplitude", "integrated EMG", "sum(|x|)/fs", "U*s", "-", "Merletti 1999"),
    _f("peak", "amplitude", "largest value of the envelope", "max(env)", A, "envelope=rms, window_ms=250",
       "Clancy et al. 2002"),
    _f("p10", "amplitude", "10th percentile of the envelope", "percentile(env, 10)", A, "percentiles=(10,50,90)",
       "-"),
    _f("p50", "amplitude", "median of the envelope", "percentile(env, 50)", A, "percentiles=(10,50,90)", "-"),
    _f("p90", "amplitude", "90th percentile of the envelope", "percentile(env, 90)", A, "percentiles=(10,50,90)",
       "-"),
    _f("cv", "amplitude", "coefficient of variation of the envelope (amplitude variability)", "SD(env)/mean(env)",
       "1", "envelope=rms, window_ms=250", "Hodges & Tucker 2011; van Dieen, Flor & Hodges 2017"),
    _f("mnf", "spectral", "mean frequency of the Welch PSD", "M1/M0 over band", "Hz",
       "band=(20,450), nperseg_s=0.5 (Hann, 50 % overlap)", "Stulen & De Luca 1981; METHODS 7"),
    _f("mdf", "spectral", "median frequency (cumulative power interpolated at bin edges)",
       "sum_{f<=MDF} P = sum_{f>MDF} P", "Hz", "band=(20,450), nperseg_s=0.5", "Stulen & De Luca 1981"),
    _f("finsm5", "spectral", "Dimitrov spectral fatigue index", "M_-1/M_5, M_k = sum f^k P df", "Hz^-6",
       "finsm5_band=band", "Dimitrov et al. 2006"),
    _f("mdf_slope", "fatigue", "slope of the least-squares line through MDF of successive windows", "b1 of MDF(t)",
       "Hz/s", "fatigue_window=1 s, fatigue_phases=(sorensen_hold, all), min_fatigue_duration=10 s",
       "Roy et al. 1989"),
    _f("mdf_slope_ci_low", "fatigue", "lower 95 % confidence limit of mdf_slope", "b1 - t SE(b1)", "Hz/s",
       "confidence=0.95", "-"),
    _f("mdf_slope_ci_high", "fatigue", "upper 95 % confidence limit of mdf_slope", "b1 + t SE(b1)", "Hz/s",
       "confidence=0.95", "-"),
    _f("mdf_initial", "fatigue", "initial MDF (regression intercept at the start)", "b0", "Hz", "-",
       "Coorevits et al. 2008"),
    _f("mdf_slope_pct", "fatigue", "normalised MDF slope", "100*b1/b0", "%/s", "-", "Coorevits et al. 2008"),
    _f("frr", "flexion-relaxation", "flexion relaxation ratio", "S(E_FLX)/mean(E_FF)", "1",
       "statistic=max, trim=0.5 s", "Gouteron et al. 2022 (name); Alschuler et al. 2009 (max/mean)"),
    _f("err", "flexion-relaxation", "extension relaxation ratio", "S(E_EXT)/mean(E_FF)", "1",
       "statistic=max, trim=0.5 s", "Gouteron et al. 2022; Alschuler et al. 2009"),
    _f("fer", "flexion-relaxation", "flexion-extension ratio (high = abnormal)", "S(E_FLX)/S(E_EXT)", "1",
       "statistic=max", "FER study (130 CNSLBP vs 130 controls), METHODS 1.5"),
    _f("std_ff_ratio", "flexion-relaxation", "standing / full-flexion ratio", "mean(E_STD)/mean(E_FF)", "1",
       "trim=0.5 s", "Alschuler et al. 2009"),
    _f("half_flexion_ratio", "flexion-relaxation", "envelope at half flexion over full flexion",
       "E(angle = 50 % of excursion)/mean(E_FF)", "1", "half-way in time without an angle",
       "Kienbacher et al. 2016"),
    _f("frp_present", "flexion-relaxation", "flexion-relaxation present (1) or absent (0)",
       "ERR_frp_statistic >= frp_threshold", "1", "frp_statistic=mean, frp_threshold=4.0",
       "toolkit criterion; threshold near Gouteron et al. 2022 pooled NSCLBP ERR 4.07"),
    _f("frp_onset_angle", "flexion-relaxation", "trunk angle at EMG-off (FRP onset)",
       "angle at first envelope run below thr for >= t_min in FLX/FF", "deg",
       "frp_angle_threshold=peak, frp_angle_p=25 %, frp_t_min=0.25 s", "Jin, Ning & Mirka 2012; Kippers & Parker 1984"),
    _f("frp_cessation_angle", "flexion-relaxation", "trunk angle at EMG-on (FRP cessation)",
       "angle at first envelope run above thr for >= t_min after EMG-off", "deg", "as frp_onset_angle",
       "Jin, Ning & Mirka 2012"),
    _f("rms_static", "static-dynamic", "RMS pooled over static postures", "sqrt(mean x^2 over static phases)", A,
       "static_phases=(standing, sitting, prone)", "Kravitz et al. 1981; Geisser et al. 2005"),
    _f("rms_dynamic", "static-dynamic", "RMS pooled over movement phases", "sqrt(mean x^2 over dynamic phases)", A,
       "dynamic_phases=(flexion, extension, lifting, lowering, walking)", "Ahern et al. 1988"),
    _f("sdr", "static-dynamic", "static/dynamic ratio (toolkit-defined index)", "rms_static/rms_dynamic", "1",
       "as rms_static, rms_dynamic", "toolkit-defined (METHODS 2.1); Kravitz-type guarding predicts higher SDR"),
    _f("asymmetry_index", "asymmetry", "signed left/right asymmetry of the phase RMS", "(R-L)/(R+L)", "1", "-",
       "METHODS 8 (standard form)"),
    _f("side_ratio", "asymmetry", "larger over smaller side RMS", "max(L,R)/min(L,R)", "1", "-",
       "BMC Complement Altern Med 2017;17:303"),
    _f("lr_xcorr", "asymmetry", "peak normalised cross-correlation of the L and R envelopes",
       "max_tau sum L(t)R(t+tau)/sqrt(sum L^2 sum R^2), mean removed", "1", "max_lag=0.5 s", "Lehman 2002"),
    _f("lr_lag", "asymmetry", "lag of the cross-correlation peak (right after left > 0)", "argmax_tau", "s",
       "max_lag=0.5 s", "Lehman 2002"),
    _f("cci_falconer_winter", "co-contraction", "Falconer-Winter co-contraction", "200 sum min(A,B)/(sum A + sum B)",
       "%", "envelope=rms", "Falconer & Winter 1985"),
    _f("cci_rudolph", "co-contraction", "Rudolph co-contraction index", "mean((low/high)(low+high))", A,
       "envelope=rms", "Rudolph et al. 2000"),
    _f("antagonist_ratio", "co-contraction", "antagonist/agonist ratio", "100 mean(B)/mean(A)", "%", "-",
       "van Dieen, Cholewicki & Radebold 2003"),
    _f("dccr", "co-contraction", "directed co-contraction ratio", "1 - B/A if A > B else A/B - 1", "1", "-",
       "METHODS 3 (J Sports Sci Med table)"),
    _f("spasm_bursts", "spasm", "number of spasm-like bursts in static phases (operational definition)",
       "runs of env > k*median(env_static) for >= T", "count",
       "spasm_k=2, spasm_min_duration=0.1 s, spasm_merge=0.25 s, spasm_edge=0.5 s", "toolkit-defined (METHODS 2.3)"),
    _f("spasm_burst_rate", "spasm", "spasm-like bursts per minute of static phases", "count/minutes", "1/min",
       "as spasm_bursts", "toolkit-defined"),
    _f("spasm_burst_duration", "spasm", "mean duration of the spasm-like bursts", "mean(duration)", "s",
       "as spasm_bursts", "toolkit-defined"),
    _f("spasm_burst_amplitude", "spasm", "mean peak envelope of the spasm-like bursts", "mean(max env)", A,
       "as spasm_bursts", "toolkit-defined"),
])

_AMP = ("rms", "arv", "iemg", "peak", "cv")
_SPEC = ("mnf", "mdf", "finsm5")
_FAT = ("mdf_slope", "mdf_slope_ci_low", "mdf_slope_ci_high", "mdf_initial", "mdf_slope_pct")
_FRP = ("frr", "err", "fer", "std_ff_ratio", "half_flexion_ratio", "frp_present")
_ANG = ("frp_onset_angle", "frp_cessation_angle")
_SDR = ("rms_static", "rms_dynamic", "sdr")
_ASY = ("asymmetry_index", "side_ratio", "lr_xcorr", "lr_lag")
_COC = ("cci_falconer_winter", "cci_rudolph", "antagonist_ratio", "dccr")
_SPA = ("spasm_bursts", "spasm_burst_rate", "spasm_burst_duration", "spasm_burst_amplitude")


def feature_table_markdown() -> str:
    """The registry as a Markdown table (name, definition, formula, unit, defaults, citation)."""
    lines = ["| feature | family | definition | formula | unit | defaults | citation |", "|---|---|---|---|---|---|---|"]
    for f in FEATURES.values():
        lines.append(f"| `{f.name}` | {f.family} | {f.definition} | `{f.formula}` | {f.unit} | {f.defaults} | "
                     f"{f.citation} |")
    return "\n".join(lines)


def _wanted(features: Iterable[str] | None, percentiles: Sequence[float]) -> set[str]:
    pnames = {f"p{p:g}" for p in percentiles}
    allowed = set(FEATURES) | pnames
    if features is None:
        return allowed - ({"p10", "p50", "p90"} - pnames)
    fs = set(features)
    families = {f.family for f in FEATURES.values()}
    out = set()
    for f in fs:
        if f in families:
            out |= {k for k, v in FEATURES.items() if v.family == f}
        elif f in allowed:
            out.add(f)
        else:
            raise ParameterError(f"unknown feature {f!r}", hint=f"use names of FEATURES or families {sorted(families)}")
    if "mdf_slope" in out or "mdf_slope_pct" in out:
        out |= set(_FAT)
    return out


def compute(
    rec: Recording,
    *,
    features: Iterable[str] | None = None,
    phases: pd.DataFrame | None = None,
    picks: Iterable[str] | None = None,
    envelope: str = "rms",
    window_ms: float = 250.0,
    env_rate: float = 100.0,
    percentiles: Sequence[float] = (10, 50, 90),
    band: tuple[float, float] = (20.0, 450.0),
    nperseg_s: float = 0.5,
    finsm5_band: tuple[float, float] | None = None,
    fatigue_phases: Sequence[str] = ("sorensen_hold", "all"),
    fatigue_window: float = 1.0,
    min_fatigue_duration: float = 10.0,
    statistic: str = "max",
    frp_statistic: str = "mean",
    frp_threshold: float = 4.0,
    trim: float = 0.5,
    frp_angle_threshold: str = "peak",
    frp_angle_p: float = 25.0,
    frp_t_min: float = 0.25,
    static_phases: Sequence[str] = ("standing", "sitting", "prone"),
    dynamic_phases: Sequence[str] = _ph.DYNAMIC,
    max_lag: float = 0.5,
    spasm_phases: Sequence[str] = ("standing", "sitting", "prone", "rest"),
    spasm_k: float = 2.0,
    spasm_min_duration: float = 0.1,
    spasm_merge: float = 0.25,
    spasm_edge: float = 0.5,
    block_channels: int = 4,
) -> pd.DataFrame:
    """Compute the features of a conditioned Recording as the tidy table of DESIGN.md.

    Each envelope is computed once for all channels (moving RMS by cumulative sums,
    sampled at ``env_rate``) and reused for every phase and feature; Welch PSDs are
    computed once per phase segment for a block of channels at once. The channels are
    processed ``block_channels`` at a time to bound memory.

    Parameters
    ----------
    rec : Recording
        Conditioned EMG (e.g. :func:`paraspinal.pipeline.preprocess`), not modified.
    features : iterable of str, optional
        Feature names or families (``"amplitude"``, ``"spectral"``, ``"fatigue"``,
        ``"flexion-relaxation"``, ``"static-dynamic"``, ``"asymmetry"``,
        ``"co-contraction"``, ``"spasm"``); default all.
    phases : pandas.DataFrame, optional
        Phase table (default ``rec.phases``, validated; no phases = one ``all`` phase).
    picks : iterable of str, optional
        EMG channels (default all).
    envelope : {"rms", "linear"}
        Envelope for peak, percentiles, CV and the trunk features: centred moving RMS of
        ``window_ms`` (default; Clancy et al. 2002) or the 6 Hz linear envelope
        (Winter 2009).
    window_ms : float
        Moving-RMS window (ms), default 250 (posture phases).
    env_rate : float
        Rate (Hz) at which the envelope is kept (default 100 Hz; a 250 ms RMS has almost
        no content above 10 Hz).
    percentiles : sequence of float
        Envelope percentiles (``p10``, ``p50``, ``p90``).
    band : (float, float)
        Spectral band in Hz (upper limit cut at Nyquist).
    nperseg_s : float
        Welch segment in s (default 0.5).
    finsm5_band : (float, float), optional
        FInsm5 band (default ``band``).
    fatigue_phases : sequence of str
        Phases whose segments get an MDF fatigue slope (``all`` = a recording without phases).
    fatigue_window : float
        MDF window for the slope (s).
    min_fatigue_duration : float
        Shortest segment that gets a slope (s).
    statistic : {"max", "mean"}
        Numerator statistic of FRR, ERR, FER (max: Alschuler et al. 2009).
    frp_statistic : {"max", "mean"}
        Statistic of the ERR used for ``frp_present``.
    frp_threshold : float
        ERR at or above which FRP counts as present.
    trim : float
        Seconds removed at both ends of each phase segment for the trunk features.
    frp_angle_threshold : {"peak", "baseline"}
        EMG-off/on threshold (see :func:`paraspinal.phases.frp_angles`).
    frp_angle_p : float
        Percent of the peak flexion envelope for ``"peak"``.
    frp_t_min : float
        Minimum run length for EMG-off/on (s).
    static_phases, dynamic_phases : sequence of str
        Phases pooled for ``rms_static`` and ``rms_dynamic`` (SDR).
    max_lag : float
        Largest lag of the left/right cross-correlation (s).
    spasm_phases : sequence of str
        Phases searched for spasm-like bursts.
    spasm_k, spasm_min_duration, spasm_merge, spasm_edge : float
        Burst threshold factor, minimum duration (s), merge gap (s), phase edges ignored (s).
    block_channels : int
        Channels processed together.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`; ``attrs["parameters"]`` records the parameters and
        ``attrs["notes"]`` any caveat (e.g. co-contraction on un-normalised envelopes).

    Raises
    ------
    ChannelError
        No EMG channel.
    ParameterError
        Invalid parameters.
    """
    params = {k: v for k, v in locals().items() if k not in ("rec", "phases")}
    file = rec.meta.get("source")
    want = _wanted(features, percentiles)
    names = rec.emg_names if picks is None else list(picks)
    if not names:
        raise ChannelError("the recording has no EMG channel", file=file, hint="check the channel types")
    for nm in names:
        if nm not in rec.emg_names:
            raise ChannelError("not an EMG channel", file=file, channel=nm, hint=f"EMG channels: {rec.emg_names}")
    if statistic not in ("max", "mean") or frp_statistic not in ("max", "mean"):
        raise ParameterError(f"statistic={statistic!r}, frp_statistic={frp_statistic!r}",
                             file=file, hint="use 'max' or 'mean'")
    if envelope not in ("rms", "linear"):
        raise ParameterError(f"envelope={envelope!r}", file=file, hint="use 'rms' or 'linear'")
    fs = rec.sfreq
    n = rec.n_samples
    table = rec.channels.set_index("name")
    units = [("uV" if table.at[nm, "unit"] == "V" else str(table.at[nm, "unit"])) for nm in names]
    muscles = [table.at[nm, "muscle"] for nm in names]
    sides = [table.at[nm, "side"] for nm in names]
    n_ch = len(names)

    ph = _ph.validate(rec.phases if phases is None else phases, on_unknown="keep", file=file)
    ph = ph.assign(_a=_ph.segments(ph, fs, n)[:, 0] if len(ph) else [], _b=_ph.segments(ph, fs, n)[:, 1] if len(ph)
                   else [])
    ph = ph[ph["_b"] > ph["_a"]].reset_index(drop=True)
    if not len(ph):
        ph = pd.DataFrame(dict(onset=[0.0], duration=[n / fs], phase=["all"], cycle=pd.array([pd.NA], "Int64"),
                               source=["none"], _a=[0], _b=[n]))
    seg = ph[["_a", "_b"]].to_numpy(np.int64)
    labels = ph["phase"].tolist()
    cyc = [None if pd.isna(c) else int(c) for c in ph["cycle"]]

    # groups: (phase, cycle) and pooled (phase, None) for phases with cycle numbers
    groups: dict[tuple[str, int | None], list[int]] = {}
    for i, (p, c) in enumerate(zip(labels, cyc)):
        groups.setdefault((p, c), []).append(i)
    for p in dict.fromkeys(labels):
        idx = [i for i, q in enumerate(labels) if q == p]
        if any(cyc[i] is not None for i in idx):
            groups[(p, None)] = idx
    gkeys = list(groups)

    # ------------------------------------------------------------------ one pass over the data, by channel block
    step = max(1, int(round(fs / env_rate)))
    fs_env = fs / step
    centres = np.arange(0, n, step)
    env = np.empty((n_ch, centres.size))
    w = max(1, int(round(window_ms * fs / 1000)))
    nps = max(8, int(round(nperseg_s * fs)))
    sumsq = np.zeros((n_ch, len(seg)))
    sumabs = np.zeros((n_ch, len(seg)))
    count = (seg[:, 1] - seg[:, 0]).astype(float)
    need_spec = bool(want & set(_SPEC))
    need_fat = bool(want & set(_FAT))
    nf = nps // 2 + 1
    psd = np.zeros((n_ch, len(seg), nf)) if need_spec else None
    nwin = np.zeros(len(seg))
    fat_seg = [i for i in range(len(seg)) if labels[i] in fatigue_phases and count[i] >= min_fatigue_duration * fs] \
        if need_fat else []
    fat_res: dict[int, dict[str, np.ndarray]] = {i: {} for i in fat_seg}
    freqs = np.fft.rfftfreq(nps, 1 / fs)
    bs = max(1, int(block_channels))
    for c0 in range(0, n_ch, bs):
        blk = names[c0:c0 + bs]
        x = rec.get_data(blk, unit="uV")
        if envelope == "rms":
            env[c0:c0 + len(blk)] = rms_at(x, centres, w)
        else:
            from ..preprocessing import linear_envelope_array

            env[c0:c0 + len(blk)] = linear_envelope_array(x, fs)[:, centres]
        if need_spec:
            p_sum, n_fr = _sp.segment_psd(x, fs, seg, nps)
            psd[c0:c0 + len(blk)] = p_sum / np.maximum(n_fr, 1)[None, :, None]
            nwin[:] = n_fr
        for i, (a, b) in enumerate(seg):
            xs = x[:, a:b]
            sumsq[c0:c0 + len(blk), i] = np.einsum("ij,ij->i", xs, xs)
            sumabs[c0:c0 + len(blk), i] = np.abs(xs).sum(axis=1)
            if i in fat_res:
                try:
                    r = _sp.fatigue_slope(xs, fs, window_s=fatigue_window, band=band)
                except ParameterError:
                    continue
                for k, v in r.items():
                    fat_res[i].setdefault(k, np.full(n_ch, np.nan))[c0:c0 + len(blk)] = v
        del x

    rows: list[tuple] = []

    def add(ch: str, mus: Any, sd: Any, phase: str, cycle: int | None, feat: str, vals: Any, unit: str) -> None:
        if feat in want or feat in {f"p{p:g}" for p in percentiles} & want:
            rows.append((ch, mus, sd, phase, cycle, feat, vals, unit))

    def env_idx(ii: Sequence[int], tr: float = 0.0) -> np.ndarray:
        parts = []
        t = int(round(tr * fs))
        for i in ii:
            a, b = seg[i]
            if b - a > 2 * t + step:
                a, b = a + t, b - t
            lo, hi = -(-a // step), -(-b // step)
            if hi <= lo:
                hi = lo + 1
            parts.append(np.arange(lo, min(hi, centres.size)))
        return np.concatenate(parts) if parts else np.zeros(0, int)

    # ------------------------------------------------------------------ amplitude, spectral, fatigue
    gstats: dict[tuple, dict[str, np.ndarray]] = {}
    for key in gkeys:
        ii = groups[key]
        cnt = count[ii].sum()
        st = {"rms": np.sqrt(sumsq[:, ii].sum(1) / cnt), "arv": sumabs[:, ii].sum(1) / cnt,
              "iemg": sumabs[:, ii].sum(1) / fs}
        e = env[:, env_idx(ii)]
        st["peak"] = e.max(axis=1)
        if percentiles:
            q = np.percentile(e, list(percentiles), axis=1)
            for p, v in zip(percentiles, q):
                st[f"p{p:g}"] = v
        m = e.mean(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            st["cv"] = e.std(axis=1) / m
        if need_spec and nwin[ii].sum() > 0:
            wts = nwin[ii]
            p = (psd[:, ii] * wts[None, :, None]).sum(1) / wts.sum()
            st.update(_sp.spectral_from_psd(freqs, p, fs, band=band, finsm5_band=finsm5_band))
        if len(ii) == 1 and ii[0] in fat_res and fat_res[ii[0]]:
            r = fat_res[ii[0]]
            st.update(mdf_slope=r["slope"], mdf_slope_ci_low=r["ci_low"], mdf_slope_ci_high=r["ci_high"],
                      mdf_initial=r["initial"], mdf_slope_pct=r["slope_pct"])
        gstats[key] = st
        for k in range(n_ch):
            u = units[k]
            for feat in ("rms", "arv", "iemg", "peak", *[f"p{p:g}" for p in percentiles], "cv", *_SPEC, *_FAT):
                if feat in st:
                    unit = {"iemg": f"{u}*s", "cv": "1", "mnf": "Hz", "mdf": "Hz", "finsm5": "Hz^-6",
                            "mdf_slope": "Hz/s", "mdf_slope_ci_low": "Hz/s", "mdf_slope_ci_high": "Hz/s",
                            "mdf_initial": "Hz", "mdf_slope_pct": "%/s"}.get(feat, u)
                    add(names[k], muscles[k], sides[k], key[0], key[1], feat, st[feat][k], unit)

    # ------------------------------------------------------------------ flexion-relaxation
    ext_rows = [k for k in range(n_ch) if muscles[k] in EXTENSORS]
    cycles = sorted({c for (p, c) in gkeys if c is not None and p == "full_flexion"})
    angle = None
    if "TRUNK_ANGLE" in rec.ch_names and (want & set(_FRP) or want & set(_ANG)):
        try:
            angle = _ph.angle_signal(rec, "TRUNK_ANGLE")[0][centres]
        except ChannelError:
            angle = None
    if ext_rows and cycles and want & set(_FRP):
        per: dict[str, list[np.ndarray]] = {}
        for c in cycles:
            gi = {p: groups.get((p, c)) for p in ("flexion", "full_flexion", "extension", "standing")}
            if not (gi["flexion"] and gi["full_flexion"] and gi["extension"]):
                continue
            fl_i = env_idx(gi["flexion"], trim)
            half = None
            if angle is not None:
                fl_full = env_idx(gi["flexion"])
                a0 = angle[fl_full[0]]
                amax = angle[env_idx(gi["full_flexion"])].mean()
                hit = np.flatnonzero(angle[fl_full] >= a0 + 0.5 * (amax - a0))
                hidx = fl_full[hit[0]] if hit.size else fl_full[fl_full.size // 2]
            else:
                fl_full = env_idx(gi["flexion"])
                hidx = fl_full[fl_full.size // 2]
            half = env[ext_rows, hidx]
            r = _tr.frp_ratios(env[np.ix_(ext_rows, fl_i)], env[np.ix_(ext_rows, env_idx(gi["full_flexion"], trim))],
                               env[np.ix_(ext_rows, env_idx(gi["extension"], trim))],
                               env[np.ix_(ext_rows, env_idx(gi["standing"], trim))] if gi["standing"] else None,
                               half, statistic=statistic)
            rf = r if frp_statistic == statistic else _tr.frp_ratios(
                env[np.ix_(ext_rows, fl_i)], env[np.ix_(ext_rows, env_idx(gi["full_flexion"], trim))],
                env[np.ix_(ext_rows, env_idx(gi["extension"], trim))], statistic=frp_statistic)
            r["frp_present"] = (rf["err"] >= frp_threshold).astype(float)
            r["_frp_num"] = rf["num_ext"]
            for k2, v in r.items():
                per.setdefault(k2, []).append(v)
            for j, k in enumerate(ext_rows):
                for feat in _FRP:
                    if feat in r:
                        add(names[k], muscles[k], sides[k], "full_flexion", c, feat, r[feat][j], "1")
        if per:
            mean = {k2: np.mean(v, axis=0) for k2, v in per.items()}
            with np.errstate(divide="ignore", invalid="ignore"):
                agg = {"frr": mean["num_flx"] / mean["ff_mean"], "err": mean["num_ext"] / mean["ff_mean"],
                       "fer": mean["num_flx"] / mean["num_ext"],
                       "frp_present": (mean["_frp_num"] / mean["ff_mean"] >= frp_threshold).astype(float)}
                if "std_mean" in mean and len(per["std_mean"]) == len(per["ff_mean"]):
                    agg["std_ff_ratio"] = mean["std_mean"] / mean["ff_mean"]
                if "half" in mean:
                    agg["half_flexion_ratio"] = mean["half"] / mean["ff_mean"]
            for j, k in enumerate(ext_rows):
                for feat in _FRP:
                    if feat in agg:
                        add(names[k], muscles[k], sides[k], "full_flexion", None, feat, agg[feat][j], "1")
    if ext_rows and cycles and angle is not None and want & set(_ANG):
        res = _ph.frp_angles(env[ext_rows], angle, fs_env, ph.assign(onset=ph["_a"] / fs, duration=(ph["_b"] - ph["_a"]) / fs),
                             threshold=frp_angle_threshold, p=frp_angle_p, t_min=frp_t_min)
        acc: dict[int, dict[str, list]] = {}
        for r in res:
            k = ext_rows[r["channel"]]
            add(names[k], muscles[k], sides[k], "full_flexion", r["cycle"], "frp_onset_angle", r["off_angle"], "deg")
            add(names[k], muscles[k], sides[k], "full_flexion", r["cycle"], "frp_cessation_angle", r["on_angle"], "deg")
            acc.setdefault(k, {"on": [], "off": []})
            acc[k]["off"].append(r["off_angle"])
            acc[k]["on"].append(r["on_angle"])
        for k, d in acc.items():
            for feat, vals in (("frp_onset_angle", d["off"]), ("frp_cessation_angle", d["on"])):
                v = np.asarray(vals, float)
                if np.isfinite(v).any():
                    add(names[k], muscles[k], sides[k], "full_flexion", None, feat, float(np.nanmean(v)), "deg")

    # ------------------------------------------------------------------ static / dynamic
    if want & set(_SDR):
        s_i = [i for i, p in enumerate(labels) if p in static_phases]
        d_i = [i for i, p in enumerate(labels) if p in dynamic_phases]
        if s_i and d_i:
            rs = np.sqrt(sumsq[:, s_i].sum(1) / count[s_i].sum())
            rd = np.sqrt(sumsq[:, d_i].sum(1) / count[d_i].sum())
            for k in range(n_ch):
                add(names[k], muscles[k], sides[k], "all", None, "rms_static", rs[k], units[k])
                add(names[k], muscles[k], sides[k], "all", None, "rms_dynamic", rd[k], units[k])
                add(names[k], muscles[k], sides[k], "all", None, "sdr", rs[k] / rd[k] if rd[k] > 0 else np.nan, "1")

    # ------------------------------------------------------------------ asymmetry
    sub = rec.channels[rec.channels["name"].isin(names)]
    pos = {nm: i for i, nm in enumerate(names)}
    pair_order: list[str] = []
    if want & set(_ASY):
        for left, right in bilateral_pairs(sub):
            kl, kr = pos[left], pos[right]
            lab = f"{left}|{right}"
            pair_order.append(lab)
            u = units[kl] if units[kl] == units[kr] else f"{units[kl]}|{units[kr]}"
            for key in gkeys:
                st = gstats[key]
                a = _tr.asymmetry(st["rms"][kl], st["rms"][kr])
                add(lab, muscles[kl], "L|R", key[0], key[1], "asymmetry_index", a["asymmetry_index"], "1")
                add(lab, muscles[kl], "L|R", key[0], key[1], "side_ratio", a["side_ratio"], "1")
                if want & {"lr_xcorr", "lr_lag"}:
                    xc = [_tr.lr_xcorr(env[kl, ei], env[kr, ei], fs_env, max_lag)
                          for ei in (env_idx([i]) for i in groups[key])]
                    xc = np.array(xc, float)
                    if np.isfinite(xc[:, 0]).any():
                        add(lab, muscles[kl], "L|R", key[0], key[1], "lr_xcorr", float(np.nanmean(xc[:, 0])), "1")
                        add(lab, muscles[kl], "L|R", key[0], key[1], "lr_lag", float(np.nanmean(xc[:, 1])), "s")
            del u

    # ------------------------------------------------------------------ co-contraction
    notes = []
    if want & set(_COC):
        pairs = agonist_antagonist_pairs(sub)
        raw_units = [units[pos[a]] for a, b in pairs] + [units[pos[b]] for a, b in pairs]
        if pairs and any(u == "uV" for u in raw_units):
            notes.append("co-contraction indices computed on un-normalised (uV) envelopes: normalise to MVC/RVC "
                         "for comparable agonist and antagonist units (METHODS.md 3)")
            warnings.warn(f"{file or 'recording'}: " + notes[-1], ParaspinalWarning, stacklevel=2)
        for ag, an in pairs:
            ka, kb = pos[ag], pos[an]
            lab = f"{ag}|{an}"
            pair_order.append(lab)
            u = units[ka] if units[ka] == units[kb] else f"{units[ka]}|{units[kb]}"
            for key in gkeys:
                ei = env_idx(groups[key])
                r = _tr.cocontraction(env[ka, ei], env[kb, ei])
                for feat in _COC:
                    add(lab, f"{muscles[ka]}|{muscles[kb]}", sides[ka], key[0], key[1], feat, r[feat],
                        u if feat == "cci_rudolph" else ("%" if feat in ("cci_falconer_winter", "antagonist_ratio")
                                                         else "1"))

    # ------------------------------------------------------------------ spasm-like bursts
    if want & set(_SPA) and ext_rows:
        mask = np.zeros(centres.size, bool)
        minutes = 0.0
        for i, p in enumerate(labels):
            if p in spasm_phases:
                ei = env_idx([i], spasm_edge)
                mask[ei] = True
                minutes += ei.size / fs_env / 60
        if mask.any():
            eps = _tr.spasm_episodes(env[ext_rows], fs_env, mask, k=spasm_k, min_duration=spasm_min_duration,
                                     merge=spasm_merge)
            for j, k in enumerate(ext_rows):
                e = eps[j]
                add(names[k], muscles[k], sides[k], "all", None, "spasm_bursts", float(len(e)), "count")
                add(names[k], muscles[k], sides[k], "all", None, "spasm_burst_rate", len(e) / minutes, "1/min")
                if e:
                    add(names[k], muscles[k], sides[k], "all", None, "spasm_burst_duration",
                        float(np.mean([x["duration"] for x in e])), "s")
                    add(names[k], muscles[k], sides[k], "all", None, "spasm_burst_amplitude",
                        float(np.mean([x["amplitude"] for x in e])), units[k])

    # ------------------------------------------------------------------ the table
    df = pd.DataFrame(rows, columns=["channel", "muscle", "side", "phase", "cycle", "feature", "value", "unit"])
    df["value"] = df["value"].astype(float)
    finite = np.isfinite(df["value"].to_numpy())
    dropped = int((~finite).sum())
    df = df[finite]
    ch_order = {nm: i for i, nm in enumerate(list(names) + pair_order)}
    ph_order = {p: i for i, p in enumerate(dict.fromkeys(labels))}
    ph_order.setdefault("all", len(ph_order))
    f_order = {f: i for i, f in enumerate(["rms", "arv", "iemg", "peak", *[f"p{p:g}" for p in percentiles]]
                                          + [f for f in FEATURES if f not in ("rms", "arv", "iemg", "peak", "p10",
                                                                               "p50", "p90")])}
    keys = pd.DataFrame({
        "c": df["channel"].map(ch_order), "p": df["phase"].map(ph_order),
        "y": df["cycle"].map(lambda v: 10**9 if v is None or pd.isna(v) else int(v)),
        "f": df["feature"].map(f_order)})
    order = np.lexsort((keys["f"].to_numpy(), keys["y"].to_numpy(), keys["p"].to_numpy(), keys["c"].to_numpy()))
    df = df.iloc[order].reset_index(drop=True)
    df["cycle"] = pd.array([None if (v is None or pd.isna(v)) else int(v) for v in df["cycle"]], dtype="Int64")
    for col in ("subject", "group", "session", "task", "run"):
        v = rec.meta.get(col)
        df.insert(list(COLUMNS).index(col), col, None if v is None else str(v))
    df = df[list(COLUMNS)]
    df.attrs["parameters"] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()}
    df.attrs["notes"] = notes
    df.attrs["dropped"] = dropped
    df.attrs["phase_source"] = rec.meta.get("phase_source", sorted(set(ph["source"])))
    return df
