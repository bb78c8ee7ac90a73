"""MEDIDA from 25 % psi observations by cycled analysis: the imperfect model carries the points
observed earlier, the RFF ridge interpolator fills only the small innovation (ADR 0064).

The steps of ``sciml.discovery.medida``, as the ``medida`` recipe runs them.
Run: python examples/medida_cycled.py   (about 15 s on one CPU core: 64^2 grid, 6000-step spin-up).
Printed: fixed sensors 23 % -> 22 % q error after 115 cycles and wrong terms; moving sensors 23 % -> 1.0 %,
and q2_t (missing) = -5.789e-07 lap_psi2, the drag the model lacks (-rek = -5.787e-07).
"""
from sciml.discovery.medida import (EstimateSettings, cycle_errors, cycled_states, discover, imperfect_model,
                                    observe_truth, truth_window)
from sciml.models.medida import equation_text
from sciml.pde.qg import QGModel

truth = QGModel(nx=64)
window = truth_window(truth, spinup=6000, n_states=16, n_pre=100)    # 100 cycles of spin-up + a 16-state window
imperfect = imperfect_model(truth, "drag0")                           # the model we have: no bottom drag
last = len(window.all) - 1

for sensors in ("fixed", "moving"):                                   # one mask for all times, or a new one per time
    values, mask = observe_truth(truth, window, "sparse", density=0.25, observed="psi", sensors=sensors)
    analyses = cycled_states(imperfect, values, mask, EstimateSettings(method="cycled", interpolator="rff"))
    errs = cycle_errors(truth, analyses, window)
    print(f"{sensors} sensors, q error of the analysis at cycles 0 / 20 / 70 / {last}:",
          " / ".join(f"{errs[f'analysis_rel_err_c{t}']:.3f}" for t in (0, 20, 70, last)))
    coef = discover(imperfect, analyses[-16:], threshold=0.2, kcut=0.5, scale="equation", window=4)
    print("  discovered:", equation_text(coef).replace("\n", "; "))
