/* logits.c: helpers on a row of logits: log-softmax and top-k (engine.h). */
#include "autocorrect/engine.h"

#include <math.h>

void ac_logprobs_from_logits(float *x, int n)
{
    if (n <= 0)
        return;
    float mx = x[0];
    for (int i = 1; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        sum += exp((double)x[i] - mx);
    float lse = (float)(mx + log(sum));
    for (int i = 0; i < n; i++)
        x[i] -= lse;
}

/* True when (va, a) ranks before (vb, b): larger value first, then lower index. NaN ranks last. */
static int before(float va, int a, float vb, int b)
{
    if (isnan(va))
        return 0;
    if (isnan(vb))
        return 1;
    return va > vb || (va == vb && a < b);
}

int ac_topk(const float *x, int n, int k, int32_t *ids, float *vals)
{
    if (k > n)
        k = n;
    if (k <= 0)
        return 0;
    /* insertion into a sorted list of k: O(n k), fine for the small k autocomplete uses */
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (m == k && !before(x[i], i, x[ids[m - 1]], ids[m - 1]))
            continue;
        int j = m < k ? m++ : k - 1;
        while (j > 0 && before(x[i], i, x[ids[j - 1]], ids[j - 1])) {
            ids[j] = ids[j - 1];
            j--;
        }
        ids[j] = i;
    }
    if (vals)
        for (int j = 0; j < k; j++)
            vals[j] = x[ids[j]];
    return k;
}
