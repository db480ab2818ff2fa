"""Language identification from the text's own letters (bot.extract.language), on texts written
here and on the real texts of the corpus, against the hand labels and py3langid's answers."""

import json

import pytest
from conftest import need_corpus

from bot.extract.language import detect_language

# News-like sentences in the languages a feed may bring, written for these tests.
WRITTEN = {
    "en": "The two governments agreed on Tuesday to expand their cooperation on advanced "
          "semiconductors, with a joint research centre that will open in Tokyo next year.",
    "ja": ("日米両政府は火曜日、先端半導体の研究で協力を拡大することで合意した。"
           "来年には東京に共同研究拠点を開く。"),
    "ja-kanji-heavy": ("経済産業省は半導体製造装置の輸出管理強化を発表。"
                       "対象品目は二十三品目で、米国と歩調を合わせる。"),
    "zh": "两国政府周二同意扩大在先进半导体领域的合作，并将于明年在东京设立联合研究中心。",
    "zh-tw": "兩國政府週二同意擴大在先進半導體領域的合作，並將於明年在東京設立聯合研究中心。",
    "ko": ("양국 정부는 화요일 첨단 반도체 분야의 협력을 확대하기로 합의했으며 "
           "내년 도쿄에 공동 연구 센터를 열 예정이다."),
    "de": "Die beiden Regierungen haben sich am Dienstag darauf geeinigt, ihre Zusammenarbeit bei "
          "modernen Halbleitern auszubauen. Im nächsten Jahr wird in Tokio ein gemeinsames "
          "Forschungszentrum eröffnet.",
    "fr": "Les deux gouvernements se sont mis d'accord mardi pour étendre leur coopération dans "
          "les semi-conducteurs avancés, avec un centre de recherche commun qui ouvrira à Tokyo.",
    "es": "Los dos gobiernos acordaron el martes ampliar su cooperación en semiconductores "
          "avanzados, con un centro de investigación conjunto que se abrirá en Tokio el próximo año.",
    "pt": "Os dois governos concordaram na terça-feira em ampliar a cooperação em semicondutores "
          "avançados, com um centro de pesquisa conjunto que será aberto em Tóquio no próximo ano.",
    "it": "I due governi hanno concordato martedì di ampliare la cooperazione sui semiconduttori "
          "avanzati, con un centro di ricerca comune che aprirà a Tokyo il prossimo anno.",
    "nl": "De twee regeringen zijn dinsdag overeengekomen om hun samenwerking op het gebied van "
          "geavanceerde halfgeleiders uit te breiden, met een gezamenlijk onderzoekscentrum in Tokio.",
    "ru": "Правительства двух стран во вторник договорились расширить сотрудничество в области "
          "передовых полупроводников и открыть в следующем году совместный центр в Токио.",
    "uk": "Уряди двох країн у вівторок домовилися розширити співпрацю у сфері передових "
          "напівпровідників і відкрити наступного року спільний центр у Токіо.",
    "pl": "Oba rządy uzgodniły we wtorek, że rozszerzą współpracę w dziedzinie zaawansowanych "
          "półprzewodników, a w przyszłym roku w Tokio zostanie otwarte wspólne centrum badawcze.",
    "sv": "De två regeringarna kom på tisdagen överens om att utöka samarbetet kring avancerade "
          "halvledare, och ett gemensamt forskningscentrum ska öppnas i Tokyo nästa år.",
    "tr": "İki hükümet salı günü ileri yarı iletkenler alanındaki iş birliğini genişletme "
          "konusunda anlaştı ve gelecek yıl Tokyo'da ortak bir araştırma merkezi açılacak.",
    "id": "Kedua pemerintah pada hari Selasa sepakat untuk memperluas kerja sama di bidang "
          "semikonduktor canggih, dan pusat penelitian bersama akan dibuka di Tokyo tahun depan.",
    "vi": "Hai chính phủ hôm thứ Ba đã đồng ý mở rộng hợp tác trong lĩnh vực bán dẫn tiên tiến "
          "và sẽ mở một trung tâm nghiên cứu chung tại Tokyo vào năm tới.",
    "el": "Οι δύο κυβερνήσεις συμφώνησαν την Τρίτη να επεκτείνουν τη συνεργασία τους στους "
          "προηγμένους ημιαγωγούς, με ένα κοινό ερευνητικό κέντρο στο Τόκιο.",
    "ar": "اتفقت الحكومتان يوم الثلاثاء على توسيع التعاون في مجال أشباه الموصلات المتقدمة، مع "
          "افتتاح مركز أبحاث مشترك في طوكيو العام المقبل.",
    # English full of Japanese names and a quoted Japanese phrase stays English
    "en-mixed": "Rapidus and IBM said the 2nm line in Chitose, Hokkaido, would start in 2027. "
                "The ministry (経済産業省) called it a milestone for the partnership.",
}


@pytest.mark.parametrize("label", sorted(WRITTEN))
def test_written_texts(label):
    assert detect_language(WRITTEN[label], None) == label.split("-")[0]


def test_declared_language_only_when_the_text_is_too_short():
    assert detect_language("", "ja-JP") == "ja"
    assert detect_language("OK", "en-US") == "en"
    assert detect_language(WRITTEN["en"], "ja") == "en"
    assert detect_language("", None) is None


def test_latin_text_without_known_function_words_falls_back_to_the_declaration():
    box_score = "Palm Bay 18 22 13 17 70 Tolivert Davis Burgher Bozeman Moore Rockledge Blakely"
    assert detect_language(box_score, "en") == "en"
    assert detect_language(box_score, None) is None


def test_labeled_corpus_languages():
    rows = [json.loads(line) for line in
            need_corpus("labeled", "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    wrong = [r["id"] for r in rows if detect_language(f"{r['title']}\n{r['text']}", None) != r["lang"]]
    assert not wrong and len(rows) > 100


def test_extraction_bench_bodies_agree_with_py3langid():
    """py3langid's answers on the 181 bench bodies, recorded once: 161 en, 6 pt, 4 ru, 2 ko,
    2 it, 2 id, 2 de, 2 ja."""
    truth = json.loads(need_corpus("extraction-bench", "ground-truth.json").read_text())
    found = {pid: detect_language(page["articleBody"], None) for pid, page in truth.items()}
    counts = {lang: list(found.values()).count(lang) for lang in set(found.values())}
    assert counts == {"en": 161, "pt": 6, "ru": 4, "ko": 2, "it": 2, "id": 2, "de": 2, "ja": 2}
