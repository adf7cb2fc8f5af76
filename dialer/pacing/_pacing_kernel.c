/* The predictive policy's per-element sums, compiled: the same arithmetic as the numpy reference in
 * dialer/pacing/sums.py, in the same order, so that both give the same bits (see that module).
 *
 * numpy spends about 3 us of fixed cost on each of the ~90 small array operations one decision
 * takes (arrays of 5 to 150 values), which made the policy half of a simulated day. These loops
 * do the same work in a few microseconds. They take float64 buffers (numpy arrays) and write
 * their results into float64 buffers the caller owns; nothing here allocates per element.
 *
 * Built with -ffp-contract=off: a fused multiply-add would round once where numpy rounds twice.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

typedef struct {
    Py_buffer view;
    const double *data;
    Py_ssize_t n;
} Vec;

static int
vec_get(PyObject *obj, Vec *v, int writable, const char *what)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, &v->view, flags) < 0) {
        PyErr_Format(PyExc_TypeError, "%s: a contiguous%s float64 array is needed",
                     what, writable ? ", writable" : "");
        return -1;
    }
    const char *fmt = v->view.format ? v->view.format : "B";
    if (v->view.itemsize != 8 || !(strcmp(fmt, "d") == 0 || strcmp(fmt, "<d") == 0 || strcmp(fmt, "=d") == 0)) {
        PyBuffer_Release(&v->view);
        PyErr_Format(PyExc_TypeError, "%s: float64 values are needed, not format '%s'", what, fmt);
        return -1;
    }
    v->data = (const double *)v->view.buf;
    v->n = v->view.len / 8;
    return 0;
}

/* The share of the sorted samples at or below x (numpy's searchsorted(side="right") / size), or
 * with below_only strictly below it (side="left"). */
static double
share(const Vec *sorted, double x, int below_only)
{
    if (sorted->n == 0)
        return 0.0;
    Py_ssize_t lo = 0, hi = sorted->n;
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (below_only ? sorted->data[mid] < x : sorted->data[mid] <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (double)lo / (double)sorted->n;
}

static double cdf(const Vec *sorted, double x) { return share(sorted, x, 0); }
static double share_below(const Vec *sorted, double x) { return share(sorted, x, 1); }

static double
clip01(double x)
{
    /* np.clip(x, 0, 1): minimum(maximum(x, 0), 1) */
    x = x > 0.0 ? x : 0.0;
    return x < 1.0 ? x : 1.0;
}

static double
as_erf(double x)
{
    /* Abramowitz & Stegun 7.1.26, as dialer.pacing.predictive._erf writes it */
    double sign = x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : 0.0);
    double a = fabs(x);
    double t = 1.0 / (1.0 + 0.3275911 * a);
    double poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    return sign * (1.0 - poly * exp(-a * a));
}

static void
vecs_release(Vec *v, int count)
{
    for (int i = 0; i < count; i++)
        PyBuffer_Release(&v[i].view);
}

/* The count buffers of one call; those from first_output on are written to. */
static int
vecs_get(PyObject *const *objs, Vec *v, int count, int first_output, const char *const *names)
{
    memset(v, 0, sizeof(Vec) * count);
    for (int i = 0; i < count; i++)
        if (vec_get(objs[i], &v[i], i >= first_output, names[i]) < 0) {
            vecs_release(v, i);
            return -1;
        }
    return 0;
}

static int
arity(Py_ssize_t nargs, Py_ssize_t wanted, const char *function)
{
    if (nargs == wanted)
        return 1;
    PyErr_Format(PyExc_TypeError, "%s takes %zd arguments (%zd given)", function, wanted, nargs);
    return 0;
}

static int
same_length(const Vec *a, const Vec *b, const char *what)
{
    if (a->n != b->n) {
        PyErr_Format(PyExc_ValueError, "%s: lengths differ (%zd and %zd)", what, a->n, b->n);
        return 0;
    }
    return 1;
}

/* conditional_sums(sorted, elapsed, within, overdue, out_mu, out_var) */
static PyObject *
conditional_sums(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    static const char *const names[] = {"sorted", "elapsed", "within", "overdue", "out_mu", "out_var"};
    Vec v[6];
    if (!arity(nargs, 6, "conditional_sums") || vecs_get(args, v, 6, 4, names) < 0)
        return NULL;
    Vec *sorted = &v[0], *elapsed = &v[1], *within = &v[2], *overdue = &v[3];
    double *mu = (double *)v[4].view.buf, *var = (double *)v[5].view.buf;
    Py_ssize_t h = within->n;
    if (!same_length(within, overdue, "overdue") || !same_length(within, &v[4], "out_mu")
        || !same_length(within, &v[5], "out_var")) {
        vecs_release(v, 6);
        return NULL;
    }
    for (Py_ssize_t j = 0; j < h; j++)
        mu[j] = var[j] = 0.0;
    for (Py_ssize_t i = 0; i < elapsed->n; i++) {
        double e = elapsed->data[i];
        double f_now = share_below(sorted, e);
        double survive = 1.0 - f_now;
        for (Py_ssize_t j = 0; j < h; j++) {
            double prob;
            if (survive > 1e-9) {
                double f_then = cdf(sorted, e + within->data[j]);
                prob = (f_then - f_now) / (survive > 1e-9 ? survive : 1e-9);
            } else {
                prob = overdue->data[j];
            }
            prob = clip01(prob);
            mu[j] += prob;
            var[j] += prob * (1.0 - prob);
        }
    }
    vecs_release(v, 6);
    Py_RETURN_NONE;
}

/* ringing_sums(answer, other, ringing, horizons, p, out_mu, out_var) */
static PyObject *
ringing_sums(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    static const char *const names[] = {"answer", "other", "ringing", "horizons", "out_mu", "out_var"};
    Vec v[6];
    if (!arity(nargs, 7, "ringing_sums"))
        return NULL;
    double p = PyFloat_AsDouble(args[4]);
    if (p == -1.0 && PyErr_Occurred())
        return NULL;
    PyObject *const bufs[6] = {args[0], args[1], args[2], args[3], args[5], args[6]};
    if (vecs_get(bufs, v, 6, 4, names) < 0)
        return NULL;
    Vec *answer = &v[0], *other = &v[1], *ringing = &v[2], *horizons = &v[3];
    double *mu = (double *)v[4].view.buf, *var = (double *)v[5].view.buf;
    Py_ssize_t h = horizons->n;
    if (!same_length(horizons, &v[4], "out_mu") || !same_length(horizons, &v[5], "out_var")) {
        vecs_release(v, 6);
        return NULL;
    }
    for (Py_ssize_t j = 0; j < h; j++)
        mu[j] = var[j] = 0.0;
    for (Py_ssize_t i = 0; i < ringing->n; i++) {
        double r = ringing->data[i];
        double g_now = share_below(answer, r);
        double h_now = cdf(other, r);
        double pending = 1.0 - p * g_now - (1.0 - p) * h_now;
        pending = pending > 1e-6 ? pending : 1e-6;
        for (Py_ssize_t j = 0; j < h; j++) {
            double g_then = cdf(answer, r + horizons->data[j]);
            double q = clip01(p * (g_then - g_now) / pending);
            mu[j] += q;
            var[j] += q * (1.0 - q);
        }
    }
    vecs_release(v, 6);
    Py_RETURN_NONE;
}

/* max_shortfall(base_mu, base_var, q_new, out): out[k] for k = 0..len(out)-1 */
static PyObject *
max_shortfall(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    static const char *const names[] = {"base_mu", "base_var", "q_new", "out"};
    Vec v[4];
    if (!arity(nargs, 4, "max_shortfall") || vecs_get(args, v, 4, 3, names) < 0)
        return NULL;
    const double *base_mu = v[0].data, *base_var = v[1].data, *q_new = v[2].data;
    double *out = (double *)v[3].view.buf;
    Py_ssize_t h = v[0].n;
    if (!same_length(&v[0], &v[1], "base_var") || !same_length(&v[0], &v[2], "q_new")) {
        vecs_release(v, 4);
        return NULL;
    }
    const double sqrt2 = sqrt(2.0), inv_sqrt2pi = 1.0 / sqrt(2.0 * M_PI);
    for (Py_ssize_t k = 0; k < v[3].n; k++) {
        double best = -INFINITY;
        for (Py_ssize_t j = 0; j < h; j++) {
            double kq = (double)k * q_new[j];
            double mu = base_mu[j] + kq;
            double var = base_var[j] + kq * (1.0 - q_new[j]);
            double sigma = sqrt(var > 1e-9 ? var : 1e-9);
            double z = mu / sigma;
            double phi = inv_sqrt2pi * exp(-0.5 * z * z);
            double cdf_z = 0.5 * (1.0 + as_erf(z / sqrt2));
            double value = sigma * phi + mu * cdf_z;
            if (value > best || j == 0)
                best = value;
        }
        out[k] = best;
    }
    vecs_release(v, 4);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"conditional_sums", (PyCFunction)(void (*)(void))conditional_sums, METH_FASTCALL,
     "conditional_sums(sorted, elapsed, within, overdue, out_mu, out_var): see dialer.pacing.sums"},
    {"ringing_sums", (PyCFunction)(void (*)(void))ringing_sums, METH_FASTCALL,
     "ringing_sums(answer, other, ringing, horizons, p, out_mu, out_var): see dialer.pacing.sums"},
    {"max_shortfall", (PyCFunction)(void (*)(void))max_shortfall, METH_FASTCALL,
     "max_shortfall(base_mu, base_var, q_new, out): see dialer.pacing.sums"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_pacing_kernel",
    "The predictive policy's per-element sums, compiled (see dialer.pacing.sums).", -1, methods,
};

PyMODINIT_FUNC
PyInit__pacing_kernel(void)
{
    return PyModule_Create(&module);
}
